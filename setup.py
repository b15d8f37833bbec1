from setuptools import find_packages, setup

# The OVOS skill, `enms chat` and `enms ask` (the stable OVOS line; exact pins
# in constraints.txt). ovos-padatious 1.4 builds fann2: apt swig libfann-dev.
VOICE = [
    "ovos-core[lgpl]>=2.1,<3",
    "ovos-workshop>=7.0.6,<8",
    "ovos-utils>=0.8.5,<0.9",
    "ovos-bus-client>=1.5,<2",
    "ovos-padatious>=1.4.3,<2",
    "ovoscope>=0.13,<0.14",
    "rapidfuzz>=3",
    "num2words>=0.5.13",
    # word stems for the key words of free speech in languages that inflect (de-de)
    "snowballstemmer>=2.2",
]

# Charts, the PDF reports and the audit package (`enms report --pdf`,
# `enms audit-pack`); imported only by those, so a voice device runs without.
REPORTS = ["matplotlib>=3.8", "reportlab>=4.0"]

# Live data over MQTT (`enms listen`, `enms simulate`): exact pin in constraints.txt.
LIVE = ["paho-mqtt>=2.1,<3"]

# The HTTP API (`enms serve`, `enms user`): exact pins in constraints.txt.
API = ["fastapi>=0.115", "uvicorn>=0.30", "pyjwt>=2.8", "argon2-cffi>=23.1",
       "python-multipart>=0.0.9", "prometheus-client>=0.20",
       # Swagger UI from the package, not a CDN: plant networks are often offline.
       "fastapi-offline>=1.7"]

setup(
    name="enms",
    version="0.1.0",
    description="A voice-first ISO 50001 energy management system",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # The repository keeps the skill's intents and dialogs in the top-level
    # locale/ (DESIGN "Layout"); the installed skill finds them in its own
    # package folder, so locale/ is shipped as skill_enms/locale.
    packages=find_packages(include=["engine", "engine.*", "skill_enms", "skill_enms.*"])
    + ["skill_enms.locale"],
    package_dir={"skill_enms.locale": "locale"},
    # api/static: the web dashboard's HTML, CSS and JavaScript (no build step).
    package_data={"engine": ["migrations/*.py", "migrations/versions/*.py",
                             "api/static/*.html", "api/static/*.js", "api/static/*.css"],
                  "skill_enms": ["settingsmeta.json"],
                  "skill_enms.locale": ["*/*", "*/*/*", "*/*/*/*"]},
    install_requires=[
        "SQLAlchemy>=2.0,<2.2",
        "alembic>=1.13",
        "psycopg[binary]>=3.1",
        "numpy>=1.26",
        "orjson>=3.9",
        "scipy>=1.11",
        "platformdirs>=4",
        "tzdata",
        "rich>=13",
    ],
    extras_require={
        "voice": VOICE,
        "reports": REPORTS,
        "api": API,
        "live": LIVE,
        # ovos-messagebus: the real bus server for the `enms chat --bus` tests;
        # its last final release (0.0.10) requires ovos-config<2, which the
        # stable ovos-core 2.1 line cannot meet, so the 0.2.1 pre-release.
        # playwright drives Debian's chromium in the dashboard tests (apt chromium;
        # it downloads no browser of its own).
        "test": ["pytest>=8", "pytest-xdist>=3", "statsmodels>=0.14", "aiosmtpd>=1.4",
                 "ovos-messagebus>=0.2.1a6,<0.3", "hypothesis>=6.100", "playwright>=1.45"]
        + VOICE + REPORTS + API + LIVE,
    },
    entry_points={"console_scripts": ["enms=engine.cli.main:main"],
                  "opm.skill": ["skill-enms.openvoiceos=skill_enms:EnmsSkill"]},
)
