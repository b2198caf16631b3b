"""Country names, ISO-3166 alpha-2/alpha-3 codes and common variants, offline.

One line per country: ``ISO2 ISO3 Name|variant|variant``. Lookup keys are lower-cased with dots,
commas, apostrophes and a leading "the" removed, so "U.S.", "the Netherlands" and "Côte d'Ivoire"
all match. Kept as text (not a dependency such as pycountry) so the base install stays lean.
"""

from __future__ import annotations

import re
import unicodedata

from icpkit.data.similar import closest

_TABLE = """
AD AND Andorra
AE ARE United Arab Emirates|UAE|Emirates
AF AFG Afghanistan
AG ATG Antigua and Barbuda|Antigua
AI AIA Anguilla
AL ALB Albania
AM ARM Armenia
AO AGO Angola
AQ ATA Antarctica
AR ARG Argentina
AS ASM American Samoa
AT AUT Austria|Österreich|Osterreich
AU AUS Australia
AW ABW Aruba
AX ALA Åland Islands|Aland Islands
AZ AZE Azerbaijan
BA BIH Bosnia and Herzegovina|Bosnia
BB BRB Barbados
BD BGD Bangladesh
BE BEL Belgium|Belgique|België
BF BFA Burkina Faso
BG BGR Bulgaria
BH BHR Bahrain
BI BDI Burundi
BJ BEN Benin
BL BLM Saint Barthélemy
BM BMU Bermuda
BN BRN Brunei|Brunei Darussalam
BO BOL Bolivia
BQ BES Caribbean Netherlands|Bonaire
BR BRA Brazil|Brasil
BS BHS Bahamas
BT BTN Bhutan
BW BWA Botswana
BY BLR Belarus
BZ BLZ Belize
CA CAN Canada
CC CCK Cocos Islands
CD COD DR Congo|Democratic Republic of the Congo|Congo-Kinshasa|DRC
CF CAF Central African Republic
CG COG Congo|Republic of the Congo|Congo-Brazzaville
CH CHE Switzerland|Schweiz|Suisse
CI CIV Côte d'Ivoire|Cote d'Ivoire|Ivory Coast
CK COK Cook Islands
CL CHL Chile
CM CMR Cameroon
CN CHN China|PRC|People's Republic of China|Mainland China
CO COL Colombia
CR CRI Costa Rica
CU CUB Cuba
CV CPV Cabo Verde|Cape Verde
CW CUW Curaçao|Curacao
CX CXR Christmas Island
CY CYP Cyprus
CZ CZE Czechia|Czech Republic
DE DEU Germany|Deutschland|Federal Republic of Germany
DJ DJI Djibouti
DK DNK Denmark|Danmark
DM DMA Dominica
DO DOM Dominican Republic
DZ DZA Algeria
EC ECU Ecuador
EE EST Estonia
EG EGY Egypt
EH ESH Western Sahara
ER ERI Eritrea
ES ESP Spain|España|Espana
ET ETH Ethiopia
FI FIN Finland|Suomi
FJ FJI Fiji
FK FLK Falkland Islands
FM FSM Micronesia
FO FRO Faroe Islands
FR FRA France
GA GAB Gabon
GB GBR United Kingdom|UK|U.K.|Great Britain|Britain|England|Scotland|Wales|Northern Ireland
GD GRD Grenada
GE GEO Georgia
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana
GI GIB Gibraltar
GL GRL Greenland
GM GMB Gambia
GN GIN Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea
GR GRC Greece|Hellas
GT GTM Guatemala
GU GUM Guam
GW GNB Guinea-Bissau
GY GUY Guyana
HK HKG Hong Kong|Hong Kong SAR
HN HND Honduras
HR HRV Croatia|Hrvatska
HT HTI Haiti
HU HUN Hungary
ID IDN Indonesia
IE IRL Ireland|Republic of Ireland|Eire
IL ISR Israel
IM IMN Isle of Man
IN IND India
IQ IRQ Iraq
IR IRN Iran|Islamic Republic of Iran
IS ISL Iceland
IT ITA Italy|Italia
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan
JP JPN Japan
KE KEN Kenya
KG KGZ Kyrgyzstan
KH KHM Cambodia
KI KIR Kiribati
KM COM Comoros
KN KNA Saint Kitts and Nevis
KP PRK North Korea|DPRK
KR KOR South Korea|Korea|Republic of Korea|Korea, Republic of
KW KWT Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan
LA LAO Laos|Lao PDR
LB LBN Lebanon
LC LCA Saint Lucia
LI LIE Liechtenstein
LK LKA Sri Lanka
LR LBR Liberia
LS LSO Lesotho
LT LTU Lithuania
LU LUX Luxembourg
LV LVA Latvia
LY LBY Libya
MA MAR Morocco
MC MCO Monaco
MD MDA Moldova
ME MNE Montenegro
MF MAF Saint Martin
MG MDG Madagascar
MH MHL Marshall Islands
MK MKD North Macedonia|Macedonia
ML MLI Mali
MM MMR Myanmar|Burma
MN MNG Mongolia
MO MAC Macao|Macau
MP MNP Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania
MS MSR Montserrat
MT MLT Malta
MU MUS Mauritius
MV MDV Maldives
MW MWI Malawi
MX MEX Mexico|México
MY MYS Malaysia
MZ MOZ Mozambique
NA NAM Namibia
NC NCL New Caledonia
NE NER Niger
NF NFK Norfolk Island
NG NGA Nigeria
NI NIC Nicaragua
NL NLD Netherlands|Holland|Nederland|The Netherlands
NO NOR Norway|Norge
NP NPL Nepal
NR NRU Nauru
NU NIU Niue
NZ NZL New Zealand|Aotearoa
OM OMN Oman
PA PAN Panama
PE PER Peru
PF PYF French Polynesia
PG PNG Papua New Guinea
PH PHL Philippines
PK PAK Pakistan
PL POL Poland|Polska
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn
PR PRI Puerto Rico
PS PSE Palestine|State of Palestine
PT PRT Portugal
PW PLW Palau
PY PRY Paraguay
QA QAT Qatar
RE REU Réunion|Reunion
RO ROU Romania
RS SRB Serbia
RU RUS Russia|Russian Federation
RW RWA Rwanda
SA SAU Saudi Arabia|KSA
SB SLB Solomon Islands
SC SYC Seychelles
SD SDN Sudan
SE SWE Sweden|Sverige
SG SGP Singapore
SH SHN Saint Helena
SI SVN Slovenia
SK SVK Slovakia|Slovak Republic
SL SLE Sierra Leone
SM SMR San Marino
SN SEN Senegal
SO SOM Somalia
SR SUR Suriname
SS SSD South Sudan
ST STP São Tomé and Príncipe|Sao Tome and Principe
SV SLV El Salvador
SX SXM Sint Maarten
SY SYR Syria|Syrian Arab Republic
SZ SWZ Eswatini|Swaziland
TC TCA Turks and Caicos Islands
TD TCD Chad
TG TGO Togo
TH THA Thailand
TJ TJK Tajikistan
TL TLS Timor-Leste|East Timor
TM TKM Turkmenistan
TN TUN Tunisia
TO TON Tonga
TR TUR Turkey|Türkiye|Turkiye
TT TTO Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan
TZ TZA Tanzania
UA UKR Ukraine
UG UGA Uganda
US USA United States|United States of America|US|U.S.|U.S.A.|America|United States Of America
UY URY Uruguay
UZ UZB Uzbekistan
VA VAT Vatican City|Holy See|Vatican
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela
VG VGB British Virgin Islands
VI VIR U.S. Virgin Islands|US Virgin Islands
VN VNM Vietnam|Viet Nam
VU VUT Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa
XK XKX Kosovo
YE YEM Yemen
YT MYT Mayotte
ZA ZAF South Africa
ZM ZMB Zambia
ZW ZWE Zimbabwe
"""


def country_key(text: str) -> str:
    """The lookup key of a country spelling: lower case, accents, dots and 'the' removed."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[.'’,()]", "", text.lower())
    text = re.sub(r"[\s_-]+", " ", text).strip()
    return text[4:] if text.startswith("the ") else text


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for line in _TABLE.strip().splitlines():
        iso2, iso3, names = line.split(" ", 2)
        for spelling in (iso2, iso3, *names.split("|")):
            lookup.setdefault(country_key(spelling), iso2)
    return lookup


COUNTRY_CODES: dict[str, str] = _build_lookup()
ISO2_CODES: frozenset[str] = frozenset(
    line.split(" ", 1)[0] for line in _TABLE.strip().splitlines()
)
# Spellings long enough for a fuzzy match to be meaningful (not two-letter codes).
_FUZZY_KEYS = [key for key in COUNTRY_CODES if len(key) >= 5]


def country_code(text: str) -> tuple[str | None, bool]:
    """ISO-2 code of a country spelling and whether it was a fuzzy (misspelling) match.

    Returns ``(None, False)`` when nothing is close enough. Fuzzy matches (e.g. 'Philipines')
    need a similarity of at least 0.85 so that unrelated names are never forced onto a country.
    """
    key = country_key(text)
    if key in COUNTRY_CODES:
        return COUNTRY_CODES[key], False
    if len(key) < 5:
        return None, False
    close = closest(key, _FUZZY_KEYS, cutoff=0.85)
    return (COUNTRY_CODES[close], True) if close else (None, False)
