"""`tollhouse demo`: a fresh demo database with a generated corpus, a licensee on Pro with two
apps and a real key, a ready curl and tweepy snippet, then the server."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
import typer
from sqlalchemy.engine import make_url

from tollhouse.access.service import AccessService, onboard
from tollhouse.cli.output import console, fail, say
from tollhouse.db import create_engine, usage_database_url
from tollhouse.migrations import runner

DEMO_ORG = "Demo Analytics Ltd"
DEMO_APPS = ("demo-research", "demo-dashboard")


def register(app: typer.Typer) -> None:
    app.command()(demo)


def _fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            candidate.unlink()


def _fill_corpus(engine: sa.Engine, posts: int, users: int) -> None:
    try:
        from tollhouse.corpus.synthetic.generator import generate_corpus
    except ImportError:  # the generator is not installed in this tree yet
        console.print("[yellow]corpus generator missing: the demo starts with no posts[/yellow]")
        return
    stats = generate_corpus(engine, posts=posts, users=users, seed=42)
    console.print(f"generated {stats.posts_written:,} posts by {stats.users_written:,} users")


def demo(
    db: Path = typer.Option(Path("demo.db"), "--db", help="SQLite file (recreated)."),
    posts: int = typer.Option(200_000, "--posts", min=0, help="Posts to generate."),
    users: int = typer.Option(20_000, "--users", min=1, help="Users to generate."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Start the server."),
) -> None:
    """Create a fresh demo database, onboard a demo licensee and serve the API."""
    path = db.resolve()
    url = f"sqlite:///{path}"
    usage_url = usage_database_url(url)
    _fresh(path)
    _fresh(Path(str(make_url(usage_url).database)))
    engine = create_engine(url)
    runner.upgrade(engine, usage_url=usage_url)
    _fill_corpus(engine, posts, users)
    done = onboard(AccessService(engine), DEMO_ORG, "pro", DEMO_APPS, actor="demo")
    with engine.connect() as conn:
        post_id = conn.execute(sa.text("SELECT max(id) FROM posts")).scalar()
        user_id = conn.execute(sa.text("SELECT min(id) FROM users")).scalar()
    engine.dispose()

    base = f"http://{host}:{port}"
    token = done.keys[0].token
    console.print(f"\n[bold]Tollhouse demo[/bold] — database {path} (usage: {usage_url})")
    say(f"organisation {done.org.name!r} on plan pro, apps: {', '.join(DEMO_APPS)}")
    say(f"API: {base}/2/   docs: {base}/docs")
    say(f"key {done.keys[0].id} for app {done.keys[0].app} (bearer token):")
    say(token)
    target = f"/2/tweets/{post_id}" if post_id else f"/2/users/{user_id or 1}"
    console.print("\ncurl:", style="bold")
    say(f'curl -H "Authorization: Bearer {token}" "{base}{target}?expansions=author_id"')
    console.print("\ntweepy (unchanged, pointed at Tollhouse):", style="bold")
    snippet = f"""import tweepy
client = tweepy.Client(bearer_token="{token}")
_send = client.session.request
client.session.request = lambda method, url, **kw: _send(
    method, url.replace("https://api.twitter.com", "{base}"), **kw)
print(client.search_recent_tweets("the", max_results=10))"""
    say(snippet)
    if not serve_after:
        return
    os.environ["TOLLHOUSE_DATABASE_URL"] = url
    os.environ["TOLLHOUSE_USAGE_DATABASE_URL"] = usage_url
    from tollhouse.cli.serve import serve
    from tollhouse.settings import get_settings

    get_settings.cache_clear()
    try:
        get_settings()
    except Exception as exc:  # settings from the environment may be invalid
        fail(str(exc))
    console.print(f"\nserving on {base} (Ctrl-C to stop)")
    serve(host=host, port=port, workers=1)
