"""Forensic marks for video and screenplays. Knows nothing of the vault.

Not built yet: see the forensic watermark issue.
"""
