"""The in-process caches in front of Redis (docs/hot-path.md): a byte-bounded LRU (lru.py), the responses held in
memory with their tags (responses.py), and how invalidations reach them from every process (invalidations.py)."""
