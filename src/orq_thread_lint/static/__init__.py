"""The static checker: Python source in, findings (and fixes) out."""
