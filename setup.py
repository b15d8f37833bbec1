from setuptools import find_packages, setup

setup(
    name="enms",
    version="0.1.0",
    description="A voice-first ISO 50001 energy management system",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["engine", "engine.*", "skill_enms", "skill_enms.*"]),
    package_data={"engine": ["migrations/*.py", "migrations/versions/*.py"]},
    install_requires=[
        "SQLAlchemy>=2.0,<2.2",
        "alembic>=1.13",
        "psycopg[binary]>=3.1",
        "numpy>=1.26",
        "scipy>=1.11",
        "platformdirs>=4",
        "tzdata",
        "rich>=13",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3", "statsmodels>=0.14"],
    },
    entry_points={"console_scripts": ["enms=engine.cli.main:main"]},
)
