"""Who works the business's tills: each staff member's till role and PIN (hashed), which the
terminals pull and check offline (docs/till-staff.md)."""
