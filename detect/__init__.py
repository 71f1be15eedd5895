"""Leak tracing: match a suspect file to renders, extract marks, accuse.

Not built yet: see the trace issue. May import `watermark`, never `vault`.
"""
