"""Raw job titles for the synthetic contacts: many surface forms per function and seniority band.

Real CRMs hold free-text titles typed by people, in several languages, with abbreviations and
noise; the generator writes those and nothing else (no department or seniority column), so the
persona analysis has to read them. Each (function, band) has its own list; the truth of every
contact is kept by the generator, never written into the CRM.
"""

from __future__ import annotations

BANDS = ("director+", "manager", "individual contributor")

TITLE_FORMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Executive", "director+"): (
        "CEO", "Chief Executive Officer", "Founder & CEO", "Co-Founder", "President",
        "Managing Director", "Geschäftsführer", "Directeur Général", "Director General",
        "Diretor Geral", "Algemeen Directeur", "COO", "Owner", "General Manager",
    ),
    ("Finance", "director+"): (
        "CFO", "Chief Financial Officer", "VP Finance", "VP, Finance", "Finance Director",
        "Director of Finance", "Head of Finance", "Sr. Director, FP&A", "Head of FP&A",
        "Finanzleiter", "Leiter Finanzen", "Directeur Financier", "Director Financiero",
        "Diretor Financeiro", "Financieel Directeur", "interim CFO", "SVP Finance",
    ),
    ("Finance", "manager"): (
        "Finance Manager", "FP&A Manager", "Accounting Manager", "Controller",
        "Financial Controller", "Sr. Finance Mgr", "Responsable Comptable", "Gerente de Finanzas",
        "Gerente Financeiro", "Manager Financiën", "Tax Manager",
    ),
    ("Finance", "individual contributor"): (
        "Financial Analyst", "Senior Financial Analyst", "FP&A Analyst", "Accountant",
        "Staff Accountant", "Buchhalterin", "Comptable", "Contador", "Analista Financeiro",
        "Boekhouder", "AP Specialist",
    ),
    ("Sales", "director+"): (
        "VP Sales", "VP of Sales", "CRO", "Chief Revenue Officer", "Sales Director",
        "Head of Sales", "Head of RevOps", "Vertriebsleiter", "Directeur Commercial",
        "Director de Ventas", "Diretor Comercial", "Hoofd Verkoop", "SVP Global Sales",
    ),
    ("Sales", "manager"): (
        "Sales Manager", "Regional Sales Manager", "Sales Operations Manager", "RevOps Manager",
        "Inside Sales Manager", "Responsable Commercial", "Gerente de Ventas",
        "Gerente de Vendas", "Verkoopleider", "Sales Team Lead",
    ),
    ("Sales", "individual contributor"): (
        "Account Executive", "Senior Account Executive", "SDR", "Sales Development Rep",
        "BDR", "Account Manager", "Key Account Manager (m/w/d)", "Ejecutivo de Cuentas",
        "Accountmanager", "Sales Engineer", "Ingénieur Commercial",
    ),
    ("Marketing", "director+"): (
        "CMO", "VP Marketing", "Director of Marketing", "Head of Marketing", "Marketing Director",
        "Head of Demand Gen", "Marketingleiter", "Directrice Marketing", "Director de Marketing",
    ),
    ("Marketing", "manager"): (
        "Marketing Manager", "Product Marketing Manager", "Demand Gen Mgr",
        "Marketing Operations Manager", "Responsable Marketing", "Gerente de Marketing",
        "Content Marketing Manager",
    ),
    ("Marketing", "individual contributor"): (
        "Marketing Specialist", "Marketing Coordinator", "SEO Specialist", "Growth Marketer",
        "Analista de Marketing", "Chargée de Communication",
    ),
    ("Engineering", "director+"): (
        "CTO", "VP Engineering", "Director of Engineering", "Head of Engineering",
        "Head of Data Engineering", "Leiter Softwareentwicklung", "Directeur Technique",
        "Director de Ingeniería",
    ),
    ("Engineering", "manager"): (
        "Engineering Manager", "Data Engineering Lead", "Software Engineering Manager",
        "Teamleiter Entwicklung", "Team Lead Backend",
    ),
    ("Engineering", "individual contributor"): (
        "Software Engineer", "Senior Software Engineer", "Data Engineer", "Sr. Data Engineer",
        "DevOps Engineer", "Softwareentwickler", "Développeur Full Stack",
        "Ingeniero de Software", "Engenheiro de Software", "Software Ontwikkelaar",
    ),
    ("IT", "director+"): (
        "CIO", "VP of IT", "IT Director", "Head of IT", "Head of Data & Analytics", "IT-Leiter",
        "DSI", "Director de Sistemas",
    ),
    ("IT", "manager"): (
        "IT Manager", "BI Manager", "Responsable Informatique", "Gerente de TI", "ICT Manager",
    ),
    ("IT", "individual contributor"): (
        "Data Analyst", "BI Analyst", "Systems Administrator", "Data Scientist",
        "Analista de Sistemas", "IT Support Specialist",
    ),
    ("Operations", "director+"): (
        "VP Operations", "Director of Operations", "Head of Operations", "Betriebsleiter",
        "Directeur des Opérations",
    ),
    ("Operations", "manager"): (
        "Operations Manager", "Supply Chain Manager", "Gerente de Operaciones",
        "Responsable Logistique",
    ),
    ("Operations", "individual contributor"): (
        "Operations Analyst", "Project Manager", "Logistics Coordinator", "Chef de Projet",
    ),
    ("Customer Success", "director+"): (
        "VP Customer Success", "Head of Customer Success", "Director of Customer Success",
        "Head of Support", "Leiter Kundenservice",
    ),
    ("Customer Success", "manager"): (
        "Customer Support Manager", "Support Team Lead", "Responsable Service Client",
        "Teamleider Klantenservice",
    ),
    ("Customer Success", "individual contributor"): (
        "Customer Success Manager", "CSM", "Technical Account Manager", "Onboarding Specialist",
        "Analista de Suporte",
    ),
    ("Product", "director+"): ("VP Product", "Head of Product", "CPO", "Director of Product"),
    ("Product", "manager"): ("Group Product Manager",),
    ("Product", "individual contributor"): (
        "Product Manager", "Senior Product Manager", "Product Owner", "Produktmanager",
    ),
    ("HR", "director+"): ("CHRO", "VP People", "Head of HR", "Personalleiter", "DRH"),
    ("HR", "manager"): ("HR Manager", "Talent Acquisition Manager", "Responsable RH"),
    ("HR", "individual contributor"): ("Recruiter", "HR Business Partner", "Analista de RH"),
    ("Procurement/Legal", "director+"): (
        "Head of Procurement", "Director of Procurement", "General Counsel", "Einkaufsleiter",
        "Directeur des Achats", "Hoofd Inkoop",
    ),
    ("Procurement/Legal", "manager"): (
        "Procurement Manager", "Jefe de Compras", "Contract Manager",
    ),
    ("Procurement/Legal", "individual contributor"): (
        "Buyer", "Senior Buyer", "Legal Counsel", "Inkoper", "Acheteur",
    ),
}  # fmt: skip

# Titles a CRM also holds: blanks and noise that no classifier can read.
NOISE_TITLES = ("", "-", "n/a", "TBD", "see LinkedIn", "???")
