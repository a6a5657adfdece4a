"""Writes the schema as SDL to schema.graphql at the repo root: `uv run python -m schema.export`."""

from pathlib import Path

from schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def exported_sdl() -> str:
    return schema.as_str() + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(exported_sdl())
    print(f"wrote {SCHEMA_FILE}")
