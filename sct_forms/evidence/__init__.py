"""Evidence uploads: inspecting files by content and preparing what is stored."""
