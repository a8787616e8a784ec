"""Cameras, QR decoding, USB/HID scanners and receipt printers. Imports nothing of ours."""
