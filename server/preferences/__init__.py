"""What a customer likes: favourite businesses, saved deals, categories and a home, and the
deals ranked near them by those (`GET /me/deals`)."""
