"""MongoDB (FerretDB locally): the client (client.py), collections and indexes (schema.py), the document models
checked before every write (documents.py), and one module per concern."""
