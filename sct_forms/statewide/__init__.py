"""The program's statewide view of a cycle, and the public list of certified towns."""
