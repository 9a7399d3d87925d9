from django.db import models


class BareRow(models.Model):
    """The row the bare insert view writes: the baseline for a call save."""

    created_at = models.DateTimeField(auto_now_add=True)
    payload = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.payload
