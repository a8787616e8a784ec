"""The web stack the server's own HTML pages share (the operator's console, the gift-card
shop): Jinja2 templates that escape everything, strict page headers, double-submit CSRF
cookies, and the sign-in both pages use. Pages load nothing from elsewhere and need no
JavaScript."""
