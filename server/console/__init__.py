"""The operator's web console: server-rendered pages at /console for admins signed in
with two-step sign-in, and the audit log of what they do there."""
