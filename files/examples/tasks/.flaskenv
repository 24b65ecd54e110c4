# A developer's settings, shipped by mistake as in the tutorial app: the role does not read them.
FLASK_DEBUG=1
