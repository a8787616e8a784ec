"""The web stack the server's own HTML pages share (the operator's console, the gift-card
shop, the account pages): Jinja2 templates that escape everything, strict page headers,
double-submit CSRF cookies (`pages.Pages`), pages in words for what the API's machinery
refuses (`problem_pages`), and the sign-in the console and the shop use. Pages load nothing
from elsewhere and need no JavaScript."""
