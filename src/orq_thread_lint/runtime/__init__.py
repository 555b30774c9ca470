"""The runtime guard: the policy applied inside openai clients, before a request is sent."""
