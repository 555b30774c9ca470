"""``orq-thread-lint init``: learn a policy from the thread ids and tags that code and logs use."""
