"""The gift-card shop: each selling business's public page at /shop, where anyone buys an
eGift card for themselves or as a gift, and a balance check by the card's code."""
