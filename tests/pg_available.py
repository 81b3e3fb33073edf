"""Exit 0 when the PostgreSQL server for the test suite answers, 1 otherwise (used by `make test`)."""
import sys

from sqlalchemy import create_engine, text

url = sys.argv[1] if len(sys.argv) > 1 else "postgresql+psycopg://postgres@127.0.0.1:5432/test"
try:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
except Exception:
    sys.exit(1)
sys.exit(0)
