"""Name, department and place pools for the synthetic tenant (``generate`` draws from these).

Each name is a pair ``(as shown, ASCII form for addresses)``. The pools mix plain ASCII names with
accents, apostrophes, hyphens and CJK names so that Unicode handling (NFC/NFD, case folding)
is exercised. Entra holds names in NFC; ``generate`` converts some Zoom copies to NFD.
"""

from __future__ import annotations

GIVEN = (
    ("Ana", "ana"),
    ("Ben", "ben"),
    ("Chloé", "chloe"),
    ("David", "david"),
    ("Elena", "elena"),
    ("François", "francois"),
    ("Grace", "grace"),
    ("Hiro", "hiro"),
    ("Ines", "ines"),
    ("José", "jose"),
    ("Katarzyna", "katarzyna"),
    ("Liam", "liam"),
    ("María", "maria"),
    ("Noah", "noah"),
    ("Olivia", "olivia"),
    ("Priya", "priya"),
    ("Quentin", "quentin"),
    ("Rafael", "rafael"),
    ("Søren", "soren"),
    ("Tomás", "tomas"),
    ("Uma", "uma"),
    ("Véronique", "veronique"),
    ("Wei", "wei"),
    ("Xavier", "xavier"),
    ("Yasmin", "yasmin"),
    ("Zoë", "zoe"),
    ("Łukasz", "lukasz"),
    ("Siân", "sian"),
    ("Björn", "bjorn"),
    ("Ángel", "angel"),
    ("Mette", "mette"),
    ("Aoife", "aoife"),
    ("Chidi", "chidi"),
    ("Fatima", "fatima"),
    ("Jürgen", "jurgen"),
    ("Nguyễn Thị", "nguyenthi"),
    ("Sean", "sean"),
    ("Anne-Marie", "annemarie"),
    ("Dáithí", "daithi"),
    ("Emma", "emma"),
    ("James", "james"),
    ("Sofia", "sofia"),
    ("Lucas", "lucas"),
    ("Mia", "mia"),
    ("Omar", "omar"),
    ("Lena", "lena"),
    ("伟", "wei"),
    ("芳", "fang"),
    ("健太", "kenta"),
    ("美咲", "misaki"),
    ("민준", "minjun"),
)

SURNAME = (
    ("Ruiz", "ruiz"),
    ("Okafor", "okafor"),
    ("Smith", "smith"),
    ("Müller", "muller"),
    ("O'Brien", "obrien"),
    ("García", "garcia"),
    ("Nowak", "nowak"),
    ("Dubois", "dubois"),
    ("Rossi", "rossi"),
    ("Johansson", "johansson"),
    ("Tanaka", "tanaka"),
    ("Kim", "kim"),
    ("Patel", "patel"),
    ("Núñez", "nunez"),
    ("Østergaard", "ostergaard"),
    ("D'Angelo", "dangelo"),
    ("Smith-Jones", "smithjones"),
    ("Çelik", "celik"),
    ("Wójcik", "wojcik"),
    ("Brown", "brown"),
    ("Martin", "martin"),
    ("Schmidt", "schmidt"),
    ("Lefèvre", "lefevre"),
    ("Nakamura", "nakamura"),
    ("MacDonald", "macdonald"),
    ("van der Berg", "vanderberg"),
    ("Fernández", "fernandez"),
    ("Ivanova", "ivanova"),
    ("Łęcki", "lecki"),
    ("Björklund", "bjorklund"),
    ("Chen", "chen"),
    ("Williams", "williams"),
    ("Jones", "jones"),
    ("Taylor", "taylor"),
    ("Wilson", "wilson"),
    ("Moreau", "moreau"),
    ("Costa", "costa"),
    ("Silva", "silva"),
    ("Haddad", "haddad"),
    ("Adébáyọ̀", "adebayo"),  # ọ̀ keeps a combining grave accent even in NFC
    ("王", "wang"),
    ("李", "li"),
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("박", "park"),
)

#: indices of GIVEN/SURNAME entries written family-name-first without a space (CJK)
CJK_GIVEN = frozenset(i for i, (g, _) in enumerate(GIVEN) if ord(g[0]) > 0x2E80)
CJK_SURNAME = frozenset(i for i, (s, _) in enumerate(SURNAME) if ord(s[0]) > 0x2E80)

#: departments of ordinary staff; "Contractors" is planted separately (scoping-filter cases)
DEPARTMENTS = (
    "Sales",
    "Finance",
    "Engineering",
    "Marketing",
    "Human Resources",
    "Legal",
    "Operations",
    "Support",
    "IT",
    "Research",
    "Customer Success",
    "Facilities",
)
DEPARTMENT_WEIGHTS = (18, 8, 20, 8, 4, 3, 10, 10, 6, 5, 5, 3)

JOB_TITLES = (
    "Analyst",
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Director",
    "Account Executive",
    "Consultant",
    "Specialist",
    "Coordinator",
    "Associate",
    "Team Lead",
    "Administrator",
)

#: (country as free text, usageLocation, IANA time zone for Zoom)
COUNTRIES = (
    ("United States", "US", "America/New_York"),
    ("United Kingdom", "GB", "Europe/London"),
    ("Germany", "DE", "Europe/Berlin"),
    ("France", "FR", "Europe/Paris"),
    ("Spain", "ES", "Europe/Madrid"),
    ("Japan", "JP", "Asia/Tokyo"),
    ("India", "IN", "Asia/Kolkata"),
    ("Brazil", "BR", "America/Sao_Paulo"),
    ("Poland", "PL", "Europe/Warsaw"),
    ("Ireland", "IE", "Europe/Dublin"),
    ("Denmark", "DK", "Europe/Copenhagen"),
    ("China", "CN", "Asia/Shanghai"),
)
COUNTRY_WEIGHTS = (30, 12, 10, 8, 6, 6, 8, 4, 4, 4, 3, 5)

CLIENT_VERSIONS = (
    "6.3.5.1234(win)",
    "6.3.5.1234(mac)",
    "6.2.11.5069(win)",
    "6.4.0.2211(win)",
    "6.4.0.2211(mac)",
    "6.1.10.45(android)",
    "6.1.10.45(iphone)",
    "5.17.11.34827(win)",
)

#: external domains of guests and personal addresses (reserved .example names)
EXTERNAL_DOMAINS = ("partner.example", "gmail.example", "outlook.example", "agency.example")

#: Microsoft 365 SKU ids (public GUIDs of E3, E5, F3 and Business Premium)
SKUS = (
    "05e9a617-0261-4cee-bb44-138d3ef5d965",
    "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
    "66b55226-6b4f-492c-910c-a3b7a3c9d993",
    "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
)
