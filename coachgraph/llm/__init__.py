"""Model access: one factory over the openai SDK, with retries, budgets and tracing."""
