"""gunicorn's settings in production (the Dockerfile and docker-compose.yml):
``gunicorn -c config/gunicorn.py config.wsgi:application``."""

bind = "0.0.0.0:8000"
workers = 3
accesslog = "-"
# The path without its query string, and no referrer: the screen pop's address
# carries callers' numbers (?dialed=…&caller=…), the portal's search their
# names, and access logs are not erased after the retention period.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
