"""Store-neutral types: what the store modules return and take, and what the layers above hand each other."""
