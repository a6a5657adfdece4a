"""What production refuses to start with: the development secrets shipped in settings.py (and a test hook).

Anyone can read them in the repository, so a deployment using them is open to everyone: a token
signed with the shipped JWT_SECRET logs in as any user. Development mode (CHIRP_ENV=development,
which the README's two commands set) is the only place they are accepted.
"""

from settings import Settings

MIN_JWT_SECRET_BYTES = 32
SHIPPED_SECRETS = ("jwt_secret", "neo4j_password", "minio_root_password")
HOW_TO = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class InsecureDeployment(SystemExit):
    """Ends the process before it serves anything, with a one-line reason (not a traceback)."""


def deployment_problems(settings: Settings) -> list[str]:
    """What makes these settings unfit for production; empty when they are fit (or in development)."""
    if settings.chirp_env == "development":
        return []
    problems = [
        f"{name.upper()} is the development value shipped in the repository"
        for name in SHIPPED_SECRETS
        if getattr(settings, name) == Settings.model_fields[name].default
    ]
    if len(settings.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
        problems.append(f"JWT_SECRET is shorter than {MIN_JWT_SECRET_BYTES} bytes")
    if settings.test_kill_after_commit:
        problems.append("TEST_KILL_AFTER_COMMIT is a test hook")
    return problems


def refuse_insecure(settings: Settings) -> None:
    problems = deployment_problems(settings)
    if problems:
        raise InsecureDeployment(
            f"chirp: refusing to start in production: {'; '.join(problems)}. Set each to a secret of your own "
            f"(for instance JWT_SECRET=$({HOW_TO})), or CHIRP_ENV=development on a developer machine."
        )
