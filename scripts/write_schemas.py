"""Rewrite factorspace/schemas/*.schema.json from the pydantic recipe models.

    python scripts/write_schemas.py

Run it after changing a model in factorspace/schema/; tests/test_schemas.py fails until you do.
"""

from factorspace.schemas import write_schemas

if __name__ == "__main__":
    for path in write_schemas():
        print(f"wrote {path}")
