"""Simulated OpenAI-compatible LLM engine: slots, a bounded queue, real text, exact timing."""
