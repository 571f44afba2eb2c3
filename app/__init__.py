"""Use cases: retrieval, answering, conversation, the CLI and the Gradio UI."""
