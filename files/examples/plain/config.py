# Loaded by manage.create_app("config.py") with app.config.from_pyfile.
GREETING = "Hello from a plain directory of modules"
