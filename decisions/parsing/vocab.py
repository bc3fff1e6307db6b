"""Vocabularies as data: treatments, body regions, specialties, guidelines, states, MTUS pages.

Each entry is a ``Term(slug, label, aliases)``. An alias is a plain phrase (case-insensitive,
word-bounded, whitespace-tolerant, optional plural "s"/"es") or, when it starts with ``re:``, a
regular expression (no named groups). Matching always goes through a ``Vocabulary`` instance,
which compiles one combined regex per kind, longest alias first, the first time it is used.
Staff-added aliases come in through ``Vocabulary.with_extra_aliases``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

PageRange = tuple[int, int]


@dataclass(frozen=True)
class Term:
    slug: str
    label: str
    aliases: tuple[str, ...] = ()
    pages: tuple[PageRange, ...] = field(default=())  # MTUS sections only


def _t(slug: str, label: str, *aliases: str, pages: tuple[PageRange, ...] = ()) -> Term:
    return Term(slug, label, (label, *aliases), pages)


# --------------------------------------------------------------------------- treatments

DRUGS: tuple[str, ...] = (
    # opioids
    "oxycodone",
    "oxycontin",
    "percocet",
    "endocet",
    "roxicodone",
    "hydrocodone",
    "norco",
    "vicodin",
    "lortab",
    "vicoprofen",
    "hysingla",
    "zohydro",
    "tramadol",
    "ultram",
    "ultracet",
    "nucynta",
    "tapentadol",
    "morphine",
    "ms contin",
    "kadian",
    "avinza",
    "hydromorphone",
    "dilaudid",
    "exalgo",
    "oxymorphone",
    "opana",
    "fentanyl",
    "duragesic",
    "methadone",
    "buprenorphine",
    "butrans",
    "suboxone",
    "codeine",
    "tylenol with codeine",
    "tylenol #3",
    "tylenol no. 3",
    "fioricet",
    "butalbital",
    # NSAIDs and analgesics
    "naproxen",
    "naprosyn",
    "anaprox",
    "anaprox ds",
    "ibuprofen",
    "motrin",
    "advil",
    "diclofenac",
    "voltaren",
    "arthrotec",
    "celecoxib",
    "celebrex",
    "meloxicam",
    "mobic",
    "nabumetone",
    "relafen",
    "etodolac",
    "lodine",
    "ketorolac",
    "toradol",
    "indomethacin",
    "piroxicam",
    "feldene",
    "fenoprofen",
    "nalfon",
    "ketoprofen",
    "flurbiprofen",
    "aspirin",
    "acetaminophen",
    "tylenol",
    "apap",
    "duexis",
    "vimovo",
    # muscle relaxants
    "cyclobenzaprine",
    "flexeril",
    "fexmid",
    "amrix",
    "carisoprodol",
    "soma",
    "tizanidine",
    "zanaflex",
    "baclofen",
    "methocarbamol",
    "robaxin",
    "metaxalone",
    "skelaxin",
    "orphenadrine",
    "norflex",
    "chlorzoxazone",
    "parafon forte",
    "dantrolene",
    # anticonvulsants / neuropathic
    "gabapentin",
    "neurontin",
    "gralise",
    "horizant",
    "pregabalin",
    "lyrica",
    "topiramate",
    "topamax",
    "carbamazepine",
    "tegretol",
    "oxcarbazepine",
    "lamotrigine",
    "lamictal",
    "levetiracetam",
    "keppra",
    # antidepressants
    "duloxetine",
    "cymbalta",
    "amitriptyline",
    "elavil",
    "nortriptyline",
    "pamelor",
    "venlafaxine",
    "effexor",
    "bupropion",
    "wellbutrin",
    "sertraline",
    "zoloft",
    "fluoxetine",
    "prozac",
    "citalopram",
    "celexa",
    "escitalopram",
    "lexapro",
    "paroxetine",
    "paxil",
    "trazodone",
    "desyrel",
    "mirtazapine",
    "remeron",
    "savella",
    "milnacipran",
    # PPIs and GI
    "omeprazole",
    "prilosec",
    "pantoprazole",
    "protonix",
    "esomeprazole",
    "nexium",
    "lansoprazole",
    "prevacid",
    "rabeprazole",
    "dexilant",
    "ranitidine",
    "zantac",
    "famotidine",
    "pepcid",
    "ondansetron",
    "zofran",
    "docusate",
    "colace",
    "senna",
    "senokot",
    "lactulose",
    "linzess",
    "amitiza",
    "movantik",
    "relistor",
    "promethazine",
    # sleep, anxiety, others
    "zolpidem",
    "ambien",
    "ambien cr",
    "eszopiclone",
    "lunesta",
    "temazepam",
    "restoril",
    "sonata",
    "zaleplon",
    "belsomra",
    "alprazolam",
    "xanax",
    "clonazepam",
    "klonopin",
    "lorazepam",
    "ativan",
    "diazepam",
    "valium",
    "hydroxyzine",
    "vistaril",
    "atarax",
    "quetiapine",
    "seroquel",
    "melatonin",
    "sumatriptan",
    "imitrex",
    "provigil",
    "nuvigil",
    "modafinil",
    "armodafinil",
    "cialis",
    "viagra",
    "testosterone",
    "androgel",
    "prednisone",
    "medrol",
    "methylprednisolone",
    "dexamethasone",
    "glucosamine",
    "chondroitin",
    "metformin",
    "lisinopril",
    "simvastatin",
    "atorvastatin",
    # topicals and compounds
    "lidoderm",
    "lidocaine patch",
    "lidocaine",
    "terocin",
    "flector",
    "flector patch",
    "pennsaid",
    "voltaren gel",
    "capsaicin",
    "menthoderm",
    "methoderm",
    "ben-gay",
    "biofreeze",
    "salonpas",
    "thermacare",
    "dendracin",
    "medrox",
    "lidopro",
    "theraflex",
    "synovacin",
    "genicin",
    "somnicin",
    "sentra",
    "theramine",
    "trepadone",
    "gabadone",
    "ketamine",
    "menthol",
    "methyl salicylate",
    "camphor",
    "tramadol cream",
    "compound",
    "compounded",
    "compounded medication",
    "topical analgesic",
    "topical cream",
    "transdermal cream",
)
_CPT = "re:(?-i:{})"

TREATMENTS: tuple[Term, ...] = (
    _t(
        "physical_therapy",
        "Physical therapy",
        "physiotherapy",
        "physical medicine",
        "PT",
        "re:P\\.T\\.",
        "therapeutic exercise",
        "therapeutic exercises",
        "post-operative therapy",
        "postoperative therapy",
        "re:97110|97140|97112|97530|97035|97014|97012|97010|97116",
        "re:(?-i:Chiro/PT)",
    ),
    _t(
        "chiropractic",
        "Chiropractic treatment",
        "chiropractic",
        "chiropractor",
        "chiro",
        "chiropractic manipulation",
        "spinal manipulation",
        "manipulation",
        "manual therapy",
        "manipulative therapy",
        "re:(?-i:CMT)",
        "re:9894[0-3]",
    ),
    _t("massage_therapy", "Massage therapy", "massage", "myofascial release", "re:97124"),
    _t("acupuncture", "Acupuncture", "electroacupuncture", "electro-acupuncture", "re:9781[0-4]"),
    _t(
        "occupational_therapy",
        "Occupational therapy",
        "re:(?-i:OT)",
        "hand therapy",
        "re:97165|97166|97167|97168",
    ),
    _t(
        "trigger_point_injection",
        "Trigger point injection",
        "trigger point",
        "re:TPIs?",
        "re:2055[23]",
    ),
    _t(
        "epidural_steroid_injection",
        "Epidural steroid injection",
        "epidural injection",
        "epidural",
        "re:ESIs?",
        "re:L?ESIs?",
        "re:(?-i:[CLT]ESI)s?",
        "transforaminal",
        "transforaminal epidural",
        "interlaminar",
        "caudal epidural",
        "selective nerve root block",
        "re:(?-i:SNRBs?)",
        "nerve root block",
        "re:6448[34]|6447[89]|6448[01]|6232[0-7]|6231[01]",
    ),
    _t(
        "facet_injection",
        "Facet injection",
        "facet block",
        "facet joint injection",
        "facet joint block",
        "facet",
        "medial branch block",
        "medial branch",
        "re:(?-i:MBBs?)",
        "re:6449[0-5]",
    ),
    _t(
        "radiofrequency_ablation",
        "Radiofrequency ablation",
        "radiofrequency",
        "re:(?-i:RFA)",
        "rhizotomy",
        "neurotomy",
        "radiofrequency neurotomy",
        "re:6463[3-6]",
    ),
    _t(
        "joint_injection",
        "Joint injection",
        "intra-articular injection",
        "intraarticular injection",
        "cortisone injection",
        "corticosteroid injection",
        "steroid injection",
        "re:(?:knee|shoulder|hip|elbow|wrist|ankle|subacromial|trochanteric|bursa|sacroiliac|SI)"
        r"\s+(?:joint\s+)?injections?",
        "synvisc",
        "orthovisc",
        "euflexxa",
        "supartz",
        "hyalgan",
        "viscosupplementation",
        "hyaluronic acid injection",
        "re:2061[01]|2060[0-6]",
    ),
    _t(
        "injection_other",
        "Other injection",
        "injection",
        "nerve block",
        "stellate ganglion block",
        "sympathetic block",
        "occipital nerve block",
        "platelet rich plasma",
        "platelet-rich plasma",
        "re:(?-i:PRP)",
        "botox",
        "botulinum",
        "prolotherapy",
        "B12 injection",
        "block",
    ),
    _t(
        "mri",
        "MRI",
        "magnetic resonance imaging",
        "magnetic resonance",
        "re:MR\\s+arthrogram",
        "MR arthrography",
        "re:(?-i:MRA)",
        "re:7214[1-9]|7215[6-8]|7322[0-3]|7372[0-3]|7019[5-6]|70551|70553",
    ),
    _t(
        "ct",
        "CT scan",
        "re:(?-i:CT)",
        "CAT scan",
        "computed tomography",
        "myelogram",
        "re:7213[1-3]|7212[5-8]|7320[0-2]|7370[0-2]|70450",
    ),
    _t(
        "xray",
        "X-ray",
        "x-rays",
        "xray",
        "x ray",
        "radiograph",
        "radiographs",
        "plain films",
        "re:7210[0-4]|7211[0-4]|7204[0-2]|7205[02]|7303[0-2]|7356[0-5]|7311[05]",
    ),
    _t(
        "emg_ncv",
        "EMG/NCV",
        "EMG",
        "NCV",
        "re:(?-i:NCS)",
        "electromyography",
        "electromyogram",
        "nerve conduction",
        "nerve conduction velocity",
        "nerve conduction study",
        "nerve conduction studies",
        "electrodiagnostic",
        "electrodiagnostic studies",
        "re:9588[5-7]|9590[7-9]|9591[0-3]|95860|95861|95864",
    ),
    _t("ultrasound", "Ultrasound", "sonogram", "diagnostic ultrasound", "re:7688[12]"),
    _t("bone_scan", "Bone scan", "bone scintigraphy", "re:7830[0-6]"),
    _t(
        "surgery",
        "Surgery",
        "surgical",
        "arthroscopy",
        "arthroscopic",
        "fusion",
        "arthrodesis",
        "laminectomy",
        "laminotomy",
        "discectomy",
        "microdiscectomy",
        "decompression",
        "re:\\w+ectomy",
        "re:(?!rhiz|neur)\\w+otomy",
        "re:\\w+plasty",
        "carpal tunnel release",
        "trigger finger release",
        "release",
        "repair",
        "reconstruction",
        "replacement",
        "re:(?-i:ACDF)",
        "debridement",
        "hardware removal",
        "removal of hardware",
        "assistant surgeon",
        "re:6472[01]|2988[0-1]|2982[3-8]|2261[02]|2263[03]|6303[05]|6304[78]"
        r"|2255[12]|2744[67]|2713[02]|2913[0-9]",
    ),
    _t(
        "medication",
        "Medication",
        "medication",
        "medications",
        "prescription",
        "re:refills?",
        *DRUGS,
    ),
    _t(
        "dme",
        "Durable medical equipment",
        "re:(?-i:DME)",
        "brace",
        "knee brace",
        "back brace",
        "lumbar support",
        "lumbar brace",
        "cervical collar",
        "collar",
        "splint",
        "wrist splint",
        "cane",
        "walker",
        "wheelchair",
        "scooter",
        "hospital bed",
        "bed",
        "cushion",
        "pillow",
        "shower chair",
        "commode",
        "grab bars",
        "traction",
        "traction unit",
        "home traction",
        "crutches",
        "sling",
        "continuous passive motion",
        "re:(?-i:CPM)",
        "exercise equipment",
        "exercise kit",
        "home exercise kit",
        "mattress",
        "ergonomic chair",
        "re:E0\\d{3}|L\\d{4}",
    ),
    _t(
        "tens",
        "TENS unit",
        "re:(?-i:TENS)",
        "transcutaneous electrical nerve stimulation",
        "re:E0730",
    ),
    _t(
        "electrical_stimulation",
        "Electrical stimulation unit",
        "H-wave",
        "H wave",
        "interferential",
        "interferential unit",
        "re:(?-i:NMES|IF unit)",
        "neuromuscular electrical stimulation",
        "electrical muscle stimulation",
        "electrical stimulation",
    ),
    _t(
        "hot_cold_therapy",
        "Hot/cold therapy",
        "cold therapy",
        "cold therapy unit",
        "cryotherapy",
        "hot/cold",
        "heat therapy",
        "heat wrap",
        "ice",
        "cold pack",
        "hot pack",
        "vascutherm",
        "game ready",
        "polar care",
        "cold compression",
    ),
    _t(
        "orthotics",
        "Orthotics",
        "orthotic",
        "shoe inserts",
        "insoles",
        "arch supports",
        "custom orthotics",
    ),
    _t(
        "home_health",
        "Home health care",
        "home health",
        "home health aide",
        "home care",
        "home assistance",
        "caregiver",
        "home nursing",
        "nursing care",
        "housekeeping",
    ),
    _t(
        "functional_restoration_program",
        "Functional restoration program",
        "re:(?-i:FRP)",
        "chronic pain program",
        "multidisciplinary pain program",
        "interdisciplinary pain program",
        "re:(?-i:HELP)\\s+program",
        "pain rehabilitation program",
    ),
    _t(
        "psychological_treatment",
        "Psychological treatment",
        "psychotherapy",
        "re:psychological\\s+(?:treatment|therapy|counseling|sessions?|evaluation|testing|"
        "consultation)",
        "cognitive behavioral therapy",
        "cognitive behavioural therapy",
        "re:(?-i:CBT)",
        "psychiatric treatment",
        "counseling",
        "psych",
        "re:9083[2-8]|9079[12]",
    ),
    _t("biofeedback", "Biofeedback", "re:9090[1-2]"),
    _t(
        "consultation",
        "Consultation",
        "consult",
        "referral",
        "clearance",
        "medical clearance",
        "pre-operative clearance",
        "preoperative clearance",
        "office visit",
        "follow-up visit",
        "follow up visit",
        "second opinion",
        "evaluation and management",
        "evaluation and treatment",
        "re:(?-i:E&M)",
        "specialist",
        "pain management",
        "re:9920[1-5]|9921[1-5]|9924[1-5]",
    ),
    _t(
        "lab_test",
        "Laboratory test",
        "lab",
        "labs",
        "laboratory",
        "laboratory studies",
        "blood work",
        "blood test",
        "re:(?-i:CBC|CMP|BMP)",
        "chem panel",
        "metabolic panel",
        "liver function",
        "hepatic function",
        "renal function",
        "urinalysis",
        "hemoglobin A1c",
        "re:8005[03]|8006[19]|8502[57]",
    ),
    _t(
        "urine_drug_screen",
        "Urine drug screen",
        "urine drug test",
        "urine drug testing",
        "urine drug screening",
        "re:(?-i:UDS|UDT)",
        "urine toxicology",
        "drug screen",
        "drug testing",
        "urine tox",
        "toxicology screen",
        "re:8030[5-7]|G048[0-3]",
    ),
    _t(
        "aquatic_therapy",
        "Aquatic therapy",
        "pool therapy",
        "aqua therapy",
        "water therapy",
        "aquatic",
        "re:97113",
    ),
    _t("work_hardening", "Work hardening", "work conditioning", "re:9754[56]"),
    _t(
        "shockwave_therapy",
        "Shockwave therapy",
        "shock wave",
        "shockwave",
        "extracorporeal shock wave",
        "re:(?-i:ESWT)",
    ),
    _t(
        "functional_capacity_evaluation",
        "Functional capacity evaluation",
        "re:(?-i:FCE)",
        "re:97750",
    ),
    _t(
        "spinal_cord_stimulator",
        "Spinal cord stimulator",
        "re:(?-i:SCS)",
        "dorsal column stimulator",
        "spinal cord stimulation",
    ),
    _t(
        "gym_membership", "Gym membership", "gym", "pool membership", "re:(?-i:YMCA)", "health club"
    ),
    _t("transportation", "Transportation", "taxi", "medical transportation"),
    _t("sleep_study", "Sleep study", "polysomnography", "polysomnogram", "re:9581[01]"),
    _t("weight_loss_program", "Weight loss program", "weight loss", "Lindora", "Weight Watchers"),
    _t("hearing_aids", "Hearing aids", "hearing aid"),
    _t("dental_treatment", "Dental treatment", "dental", "crowns", "implants"),
    _t(
        "genetic_testing",
        "Genetic testing",
        "genetic test",
        "cytokine DNA testing",
        "pharmacogenetic testing",
    ),
    _t("bone_growth_stimulator", "Bone growth stimulator", "bone stimulator"),
    _t("detoxification", "Detoxification", "detox", "opioid weaning program"),
    _t("interpreter", "Interpreter services", "interpreter", "translator"),
)

# A request naming no treatment but a dose or dosage form is a medication request.
MEDICATION_HINT = re.compile(
    r"(?<![\w/])\d+(?:\.\d+)?\s*(?:mg|mcg|µg|ug|ml|%|gm?)(?!\w)|#\s*\d+"
    r"|\b(?:tablets?|tabs?|capsules?|caps|patch(?:es)?|creams?|gels?|ointments?|lotions?"
    r"|solutions?|sprays?|drops|syrup|suppositor(?:y|ies)|ER|XR|CR|SR|DS|q\.?d|b\.?i\.?d|t\.?i\.?d"
    r"|q\d+h|p\.?r\.?n)\b",
    re.I,
)

# ------------------------------------------------------------------------- body regions

BODY_REGIONS: tuple[Term, ...] = (
    _t(
        "cervical_spine",
        "Cervical spine",
        "cervical",
        "C-spine",
        "c spine",
        "neck",
        "cervicothoracic",
        "re:(?-i:C[1-7](?:\\s*-\\s*(?:C?[1-7]|T1))?)(?!\\w)",
        "re:7204[0-2]|7205[02]|7214[12]|72156|2255[12]|6447[89]|64490|6463[34]|62321",
    ),
    _t(
        "thoracic_spine",
        "Thoracic spine",
        "thoracic",
        "T-spine",
        "t spine",
        "mid back",
        "upper back",
        "thoracolumbar",
        "re:(?-i:T(?:[1-9]|1[0-2])\\s*-\\s*(?:T?(?:[1-9]|1[0-2])|L1))(?!\\w)",
        "re:72146|72070|72072",
    ),
    _t(
        "lumbar_spine",
        "Lumbar spine",
        "lumbar",
        "lumbosacral",
        "L-spine",
        "l spine",
        "LS spine",
        "re:(?-i:LS|L/S)",
        "low back",
        "lower back",
        "back",
        "lumbar paraspinal",
        "lumbar paraspinals",
        "sacral",
        "sciatica",
        "re:(?-i:L[1-5](?:\\s*-\\s*(?:L?[1-5]|S1))?)(?!\\w)",
        "re:7214[89]|72158|7210[0-4]|7211[04]|6448[34]|6449[3-5]|6463[56]|62323|2261[02]|"
        "2263[03]|6303[05]|6304[78]|72131",
    ),
    _t(
        "shoulder",
        "Shoulder",
        "shoulders",
        "rotator cuff",
        "subacromial",
        "acromioclavicular",
        "glenohumeral",
        "re:7303[0-2]|2982[3-8]",
    ),
    _t(
        "elbow",
        "Elbow",
        "elbows",
        "lateral epicondyle",
        "epicondylitis",
        "cubital tunnel",
        "re:7307[02]",
    ),
    _t(
        "wrist_hand",
        "Wrist/hand",
        "wrist",
        "wrists",
        "hand",
        "hands",
        "finger",
        "fingers",
        "thumb",
        "thumbs",
        "carpal tunnel",
        "trigger finger",
        "de quervain",
        "re:6472[01]|731[01]0",
    ),
    _t("hip", "Hip", "hips", "trochanteric", "greater trochanter", "re:7350[0-3]|2713[02]"),
    _t(
        "knee",
        "Knee",
        "knees",
        "meniscus",
        "patella",
        "patellar",
        "re:7356[0-5]|2988[0-1]|2744[67]",
    ),
    _t(
        "ankle_foot",
        "Ankle/foot",
        "ankle",
        "ankles",
        "foot",
        "feet",
        "heel",
        "toe",
        "toes",
        "plantar",
        "achilles",
        "re:7361[0-2]|7363[0-2]",
    ),
    _t(
        "head",
        "Head",
        "brain",
        "skull",
        "face",
        "jaw",
        "re:(?-i:TMJ)",
        "temporomandibular",
        "occipital",
        "re:70551|70553|70450",
    ),
    _t(
        "upper_extremity",
        "Upper extremity",
        "upper extremities",
        "arm",
        "arms",
        "re:(?-i:UE|BUE|UEs)",
    ),
    _t(
        "lower_extremity",
        "Lower extremity",
        "lower extremities",
        "leg",
        "legs",
        "re:(?-i:LE|BLE|LEs)",
    ),
    _t("chest", "Chest", "ribs", "rib", "sternum"),
    _t("abdomen", "Abdomen", "abdominal", "hernia", "groin"),
    _t(
        "pelvis",
        "Pelvis",
        "pelvic",
        "sacroiliac",
        "re:(?-i:SI)\\s+joint",
        "coccyx",
        "buttock",
        "buttocks",
    ),
    _t("spine", "Spine", "spinal", "paraspinal", "paraspinals"),
    _t("multiple", "Multiple body parts", "multiple body parts", "multiple regions", "whole body"),
)

# ------------------------------------------------------------------------- specialties

SPECIALTIES: tuple[Term, ...] = (
    _t(
        "physical_medicine_rehabilitation",
        "Physical Medicine & Rehabilitation",
        "re:physical\\s+medicine\\s+(?:&|and)\\s+rehabilitation",
        "PM&R",
        "PMR",
        "physiatry",
        "physical medicine",
    ),
    _t(
        "pain_management",
        "Pain Management",
        "pain medicine",
        "interventional pain management",
        "interventional pain medicine",
    ),
    _t("family_medicine", "Family Medicine", "family practice"),
    _t("preventive_medicine", "Preventive Medicine", "preventative medicine"),
    _t("occupational_medicine", "Occupational Medicine", "occupational and environmental medicine"),
    _t("internal_medicine", "Internal Medicine"),
    _t(
        "orthopedic_surgery",
        "Orthopedic Surgery",
        "orthopaedic surgery",
        "orthopedics",
        "orthopaedics",
        "orthopedic",
        "orthopaedic",
    ),
    _t("anesthesiology", "Anesthesiology", "anesthesia", "anaesthesiology"),
    _t("neurology", "Neurology"),
    _t("psychiatry", "Psychiatry", "psychiatry and neurology"),
    _t("psychology", "Psychology", "clinical psychology", "psychologist"),
    _t("chiropractic", "Chiropractic", "chiropractor", "chiropractic medicine"),
    _t("acupuncture", "Acupuncture", "acupuncturist", "oriental medicine"),
    _t("neurosurgery", "Neurosurgery", "neurological surgery"),
    _t("physical_therapy", "Physical Therapy", "physical therapist"),
    _t("emergency_medicine", "Emergency Medicine"),
    _t("general_surgery", "General Surgery"),
    _t("plastic_surgery", "Plastic Surgery", "plastic and reconstructive surgery"),
    _t("hand_surgery", "Hand Surgery", "surgery of the hand"),
    _t("sports_medicine", "Sports Medicine"),
    _t("rheumatology", "Rheumatology"),
    _t("podiatry", "Podiatry", "podiatric medicine", "podiatric surgery", "foot and ankle surgery"),
    _t("dentistry", "Dentistry", "dental"),
    _t("ophthalmology", "Ophthalmology"),
    _t("otolaryngology", "Otolaryngology", "re:(?-i:ENT)"),
    _t("urology", "Urology"),
    _t("cardiology", "Cardiology", "cardiovascular disease"),
    _t("pulmonology", "Pulmonology", "pulmonary disease", "pulmonary medicine"),
    _t("gastroenterology", "Gastroenterology"),
    _t("endocrinology", "Endocrinology", "endocrinology, diabetes and metabolism"),
    _t("nephrology", "Nephrology"),
    _t("infectious_disease", "Infectious Disease"),
    _t("hematology_oncology", "Hematology/Oncology", "hematology", "oncology"),
    _t("allergy_immunology", "Allergy and Immunology"),
    _t("dermatology", "Dermatology"),
    _t("obstetrics_gynecology", "Obstetrics and Gynecology", "obstetrics & gynecology"),
    _t("radiology", "Radiology", "diagnostic radiology"),
    _t("sleep_medicine", "Sleep Medicine"),
    _t("addiction_medicine", "Addiction Medicine"),
    _t("geriatric_medicine", "Geriatric Medicine"),
    _t("spine_surgery", "Spine Surgery", "orthopedic spine surgery"),
    _t("toxicology", "Medical Toxicology"),
)

# --------------------------------------------------------------------------- guidelines
# Citation markers: each alias starts the part of a citation that belongs to that guideline.

GUIDELINES: tuple[Term, ...] = (
    _t(
        "mtus_chronic_pain",
        "MTUS Chronic Pain Medical Treatment Guidelines",
        "re:(?:(?:CA\\s+|California\\s+)?MTUS:?\\s*)?(?:20\\d\\d\\s+)?Chronic\\s+Pain\\s+"
        "(?:Medical\\s+)?Treatment\\s+Guidelines?",
        "re:(?:(?:CA\\s+|California\\s+)?MTUS:?\\s*)?Chronic\\s+Pain\\s+(?:Section|Guidelines?)",
    ),
    _t(
        "mtus_acoem",
        "MTUS ACOEM Practice Guidelines",
        "re:(?:(?:CA\\s+|California\\s+)?MTUS[,:]?\\s*(?:\\(\\s*)?)?(?:American\\s+College\\s+of\\s+"
        "Occupational\\s+and\\s+Environmental\\s+Medicine\\s*(?:\\(ACOEM\\))?|ACOEM)"
        "(?:\\s+(?:Practice\\s+)?Guidelines?)?",
    ),
    _t(
        "mtus_postsurgical",
        "MTUS Postsurgical Treatment Guidelines",
        "re:(?:(?:CA\\s+|California\\s+)?MTUS:?\\s*)?Post-?\\s*surgical\\s+(?:Treatment\\s+)?"
        "Guidelines?",
    ),
    _t(
        "mtus_acupuncture",
        "MTUS Acupuncture Medical Treatment Guidelines",
        "re:(?:(?:CA\\s+|California\\s+)?MTUS:?\\s*)?Acupuncture\\s+Medical\\s+Treatment\\s+"
        "Guidelines?",
    ),
    _t(
        "mtus",
        "MTUS",
        "re:(?:(?:CA|California)\\s+)?(?-i:MTUS)(?:\\s+guidelines?)?",
        "Medical Treatment Utilization Schedule",
    ),
    _t(
        "odg",
        "Official Disability Guidelines (ODG)",
        "re:Official\\s+Disability\\s+Guidelines?(?:\\s*\\((?:ODG)\\))?(?:\\s*-\\s*TWC)?",
        "re:(?-i:ODG)(?:\\s*-\\s*TWC)?",
    ),
    _t(
        "acr",
        "American College of Radiology (ACR)",
        "re:American\\s+College\\s+of\\s+Radiology(?:\\s*\\(ACR\\))?",
        "re:(?-i:ACR)(?=\\s+Appropriateness)",
    ),
    _t(
        "non_mtus_other",
        "Other non-MTUS citation",
        "re:Non-?\\s*MTUS\\s+Citations?:?",
        "re:(?:U\\.?\\s*S\\.?\\s+)?Food\\s+and\\s+Drug\\s+Administration(?:\\s*\\(FDA\\))?",
        "re:(?-i:FDA)",
    ),
    _t(
        "none",
        "No medical evidence cited",
        "re:did\\s+not\\s+cite\\s+any\\s+(?:medical\\s+)?(?:evidence|guidelines?)",
        "re:no\\s+(?:medical\\s+)?(?:evidence|guidelines?)\\s+(?:was|were)\\s+cited",
    ),
)
MTUS_FAMILY = frozenset(
    {"mtus_chronic_pain", "mtus_acoem", "mtus_postsurgical", "mtus_acupuncture"}
)

# --------------------------------------------------------------------------------- states

_STATES = (
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
)
# Slug is the USPS code. Codes match only in capitals, and only where a list of states is
# expected (a "State(s) of Licensure:" field); prose uses the names.
_STATE_EXTRA = {"DC": ("Washington, D.C.", "Washington DC")}
STATES: tuple[Term, ...] = tuple(
    Term(code, name, (name, f"re:(?-i:{code})", *_STATE_EXTRA.get(code, ())))
    for code, name in _STATES
)

# ------------------------------------------------------------------ MTUS page table (2009)
# MTUS Chronic Pain Medical Treatment Guidelines, 2009 edition (127 pages): section -> pages.
# Used only to fill what a letter leaves out (derived_pages / derived_section), never to
# override the pages a letter cites. Acupuncture has its own guideline (CCR 9792.24.1).


def _s(slug: str, label: str, pages: tuple[PageRange, ...], *aliases: str) -> Term:
    return Term(slug, label, (label, *aliases), pages)


MTUS_SECTIONS: tuple[Term, ...] = (
    _s("acetaminophen", "Acetaminophen (APAP)", ((11, 12),), "acetaminophen", "APAP"),
    _s(
        "antidepressants",
        "Antidepressants for chronic pain",
        ((13, 16),),
        "antidepressants",
        "antidepressant",
        "duloxetine",
        "amitriptyline",
    ),
    _s(
        "antiepilepsy_drugs",
        "Antiepilepsy drugs (AEDs)",
        ((16, 22),),
        "antiepilepsy drugs",
        "anti-epilepsy drugs",
        "AEDs",
        "anticonvulsants",
    ),
    _s("gabapentin", "Gabapentin (Neurontin)", ((18, 19),), "gabapentin", "neurontin"),
    _s("pregabalin", "Pregabalin (Lyrica)", ((19, 20),), "pregabalin", "lyrica"),
    _s(
        "anti_inflammatory",
        "Anti-inflammatory medications",
        ((22, 22),),
        "anti-inflammatory medications",
    ),
    _s("aquatic_therapy", "Aquatic therapy", ((22, 22),), "aquatic therapy", "aqua therapy"),
    _s(
        "behavioral_interventions",
        "Behavioral interventions",
        ((23, 23),),
        "behavioral interventions",
        "cognitive behavioral therapy",
    ),
    _s("benzodiazepines", "Benzodiazepines", ((24, 24),), "benzodiazepines", "benzodiazepine"),
    _s("biofeedback", "Biofeedback", ((24, 25),), "biofeedback"),
    _s("botulinum_toxin", "Botulinum toxin (Botox)", ((25, 26),), "botulinum toxin", "botox"),
    _s("buprenorphine", "Buprenorphine", ((26, 27),), "buprenorphine"),
    _s("capsaicin", "Capsaicin, topical", ((28, 29),), "capsaicin"),
    _s("carisoprodol", "Carisoprodol (Soma)", ((29, 29),), "carisoprodol", "soma"),
    _s("celecoxib", "Celecoxib (Celebrex)", ((30, 30),), "celecoxib", "celebrex"),
    _s(
        "chronic_pain_programs",
        "Chronic pain programs (functional restoration programs)",
        ((30, 34),),
        "chronic pain programs",
        "functional restoration programs",
        "functional restoration program",
        "FRPs",
        "FRP",
    ),
    _s(
        "crps",
        "Complex regional pain syndrome (CRPS)",
        ((35, 40),),
        "CRPS",
        "complex regional pain syndrome",
    ),
    _s("cyclobenzaprine", "Cyclobenzaprine (Flexeril)", ((41, 42),), "cyclobenzaprine", "flexeril"),
    _s("detoxification", "Detoxification", ((42, 42),), "detoxification"),
    _s(
        "drug_testing",
        "Drug testing",
        ((43, 43),),
        "drug testing",
        "urine drug testing",
        "urine drug screen",
        "urine drug screens",
    ),
    _s(
        "duragesic", "Duragesic (fentanyl transdermal system)", ((44, 44),), "duragesic", "fentanyl"
    ),
    _s(
        "epidural_steroid_injections",
        "Epidural steroid injections (ESIs)",
        ((46, 46),),
        "epidural steroid injections",
        "epidural steroid injection",
        "ESIs",
        "ESI",
    ),
    _s("exercise", "Exercise", ((46, 47),), "exercise"),
    _s(
        "functional_improvement_measures",
        "Functional improvement measures",
        ((48, 48),),
        "functional improvement measures",
    ),
    _s("glucosamine", "Glucosamine (and Chondroitin Sulfate)", ((50, 50),), "glucosamine"),
    _s(
        "home_health_services",
        "Home health services",
        ((51, 51),),
        "home health services",
        "home health",
    ),
    _s(
        "implantable_drug_delivery",
        "Implantable drug-delivery systems (IDDSs)",
        ((52, 54),),
        "implantable drug-delivery systems",
        "intrathecal",
    ),
    _s("ketamine", "Ketamine", ((56, 56),), "ketamine"),
    _s("lidoderm", "Lidoderm (lidocaine patch)", ((56, 57),), "lidoderm", "lidocaine patch"),
    _s(
        "manual_therapy",
        "Manual therapy & manipulation",
        ((58, 60),),
        "re:manual\\s+therapy\\s+(?:&|and)\\s+manipulation",
        "manual therapy",
        "manipulation",
        "chiropractic",
        "chiropractic treatment",
    ),
    _s("massage_therapy", "Massage therapy", ((60, 60),), "massage therapy", "massage"),
    _s(
        "medications_for_chronic_pain",
        "Medications for chronic pain",
        ((60, 61),),
        "medications for chronic pain",
    ),
    _s("methadone", "Methadone", ((61, 62),), "methadone"),
    _s(
        "muscle_relaxants",
        "Muscle relaxants (for pain)",
        ((63, 66),),
        "muscle relaxants",
        "muscle relaxant",
        "antispasmodics",
        "tizanidine",
        "methocarbamol",
        "baclofen",
        "orphenadrine",
        "metaxalone",
    ),
    _s(
        "nsaids",
        "NSAIDs (non-steroidal anti-inflammatory drugs)",
        ((67, 73),),
        "NSAIDs",
        "NSAID",
        "non-steroidal anti-inflammatory drugs",
        "anti-inflammatory drugs",
        "naproxen",
        "ibuprofen",
        "diclofenac",
    ),
    _s(
        "nsaids_gi_risk",
        "NSAIDs, GI symptoms & cardiovascular risk",
        ((68, 69),),
        "re:NSAIDs?,?\\s+GI\\s+symptoms(?:\\s*(?:&|and)\\s*cardiovascular\\s+risk)?",
        "proton pump inhibitors",
        "proton pump inhibitor",
        "PPIs",
        "PPI",
        "omeprazole",
        "pantoprazole",
        "prilosec",
    ),
    _s(
        "opioids",
        "Opioids",
        ((74, 96),),
        "opioids",
        "opioid",
        "narcotics",
        "hydrocodone",
        "oxycodone",
        "norco",
    ),
    _s(
        "opioids_criteria",
        "Opioids, criteria for use",
        ((76, 80),),
        "re:(?:opioids,?\\s+)?criteria\\s+for\\s+use(?:\\s+of\\s+opioids)?",
    ),
    _s(
        "opioids_ongoing_management",
        "Opioids, ongoing management",
        ((78, 78),),
        "re:(?:opioids,?\\s+)?on-?going\\s+management",
    ),
    _s(
        "opioids_long_term",
        "Opioids for chronic pain / long-term use",
        ((80, 82),),
        "opioids for chronic pain",
        "re:opioids,?\\s+long[- ]term",
    ),
    _s(
        "opioids_dosing",
        "Opioids, dosing",
        ((86, 87),),
        "opioids, dosing",
        "morphine equivalent dose",
    ),
    _s(
        "opioids_specific_drugs",
        "Opioids, specific drug list",
        ((91, 94),),
        "opioids, specific drug list",
    ),
    _s("tramadol", "Tramadol (Ultram)", ((93, 94),), "tramadol", "ultram"),
    _s(
        "opioids_misuse",
        "Opioids, steps to avoid misuse/addiction",
        ((94, 95),),
        "steps to avoid misuse",
    ),
    _s("pens", "Percutaneous electrical nerve stimulation (PENS)", ((97, 97),), "PENS"),
    _s(
        "physical_medicine",
        "Physical Medicine",
        ((98, 99),),
        "physical medicine",
        "physical therapy",
        "physical medicine guidelines",
    ),
    _s(
        "psychological_evaluations",
        "Psychological evaluations",
        ((100, 101),),
        "psychological evaluations",
        "psychological evaluation",
    ),
    _s(
        "psychological_treatment",
        "Psychological treatment",
        ((101, 102),),
        "psychological treatment",
        "psychotherapy",
    ),
    _s(
        "spinal_cord_stimulators",
        "Spinal cord stimulators (SCS)",
        ((105, 107),),
        "spinal cord stimulators",
        "spinal cord stimulator",
        "SCS",
    ),
    _s(
        "topical_analgesics",
        "Topical analgesics",
        ((111, 113),),
        "topical analgesics",
        "topical analgesic",
        "topical compounds",
        "compounded",
        "flurbiprofen",
        "terocin",
    ),
    _s(
        "tens",
        "Transcutaneous electrotherapy (TENS)",
        ((113, 116),),
        "TENS",
        "transcutaneous electrotherapy",
        "transcutaneous electrical nerve stimulation",
    ),
    _s("h_wave", "H-wave stimulation (HWT)", ((117, 118),), "H-wave", "H wave"),
    _s(
        "interferential",
        "Interferential current stimulation (ICS)",
        ((118, 120),),
        "interferential current stimulation",
        "interferential",
    ),
    _s(
        "nmes",
        "Neuromuscular electrical stimulation (NMES devices)",
        ((121, 121),),
        "NMES",
        "neuromuscular electrical stimulation",
    ),
    _s(
        "trigger_point_injections",
        "Trigger point injections",
        ((122, 122),),
        "trigger point injections",
        "trigger point injection",
        "TPIs",
        "TPI",
    ),
    _s("weaning", "Weaning of medications", ((124, 124),), "weaning"),
    _s(
        "work_conditioning",
        "Work conditioning, work hardening",
        ((125, 126),),
        "work conditioning",
        "work hardening",
    ),
)

# --------------------------------------------------------------------------- the engine


class Found(NamedTuple):
    slug: str
    start: int
    end: int


def _alias_pattern(alias: str) -> str:
    if alias.startswith("re:"):
        return alias[3:]
    words = [re.escape(w) for w in alias.split()]
    body = r"\s+".join(words).replace(r"\-", r"\s*-\s*")
    return body + (r"(?:e?s)?" if alias[-1].isalpha() else "")


_CASE_FLAG = re.compile(r"^\(\?-?i:")


_MTUS_PREFIX = "(?:(?:CA\\s+|California\\s+)?MTUS:?\\s*)?"


def _split_alias(alias: str) -> list[str]:
    """An alias as parts that each start with a known character, where that is plain to see.

    A plain top-level alternation ("7214[1-9]|7215[6-8]") splits on "|"; the optional "MTUS" /
    "CA MTUS" prefix of guideline names becomes one alias with each and one without.
    """
    if alias.startswith("re:") and "|" in alias and "(" not in alias:
        return [f"re:{part}" for part in alias[3:].split("|")]
    if alias.startswith("re:" + _MTUS_PREFIX):
        rest = alias[3 + len(_MTUS_PREFIX) :]
        return [
            f"re:{rest}",
            *(f"re:{p}\\s+MTUS:?\\s*{rest}" for p in ("CA", "California")),
            f"re:MTUS:?\\s*{rest}",
        ]
    return [alias]


def _has_top_level_bar(pattern: str) -> bool:
    """Whether ``pattern`` is an alternation at its top level (outside groups and classes)."""
    depth, escaped, in_class = 0, False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth <= 0:
            return True
    return False


def _initial(alias: str) -> str | None:
    """The character every match of ``alias`` starts with (lower case), or None if unknown."""
    if not alias.startswith("re:"):
        first = alias[:1].lower()
        return first if first.isalnum() else None
    pattern = _CASE_FLAG.sub("", alias[3:])  # "(?-i:CT)" starts with C all the same
    if _has_top_level_bar(pattern) or pattern[1:2] in ("?", "*", "{"):
        return None
    first = pattern[:1].lower()
    return first if first.isalnum() else None


class Matcher:
    """One compiled alternation over every alias of one kind, longest alias first.

    Python's regex engine tries each alternative in turn at every word start, and its cost per
    attempt grows with the number of capturing groups. So the scan uses one pattern without
    groups, its aliases grouped by the character they start with behind a one-character
    lookahead (each position tries only the aliases that can start there, plus the regex aliases
    whose first character is not known). Which alias matched is then read, only where something
    matched, by a small pattern with one named group per alias of that initial, tried in the
    same order, so the same alias wins.
    """

    def __init__(self, terms: Iterable[Term]) -> None:
        pairs = [(t.slug, part) for t in terms for a in t.aliases for part in _split_alias(a)]
        buckets: dict[str, list[tuple[str, str]]] = {}
        anywhere: list[tuple[str, str]] = []
        for slug, alias in pairs:
            initial = _initial(alias)
            (anywhere if initial is None else buckets.setdefault(initial, [])).append((slug, alias))

        def longest_first(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
            return sorted(entries, key=lambda p: len(p[1]), reverse=True)

        def plain(entries: list[tuple[str, str]]) -> str:
            return "|".join(f"(?:{_alias_pattern(a)})" for _, a in longest_first(entries))

        def named(entries: list[tuple[str, str]]) -> tuple[re.Pattern[str], list[str]]:
            ordered = longest_first(entries)
            groups = "|".join(f"(?P<a{i}>{_alias_pattern(a)})" for i, (_, a) in enumerate(ordered))
            return re.compile(rf"(?:{groups})(?!\w)", re.I), [slug for slug, _ in ordered]

        branches = [
            f"(?={re.escape(initial)})(?:{plain(entries + anywhere)})"
            for initial, entries in sorted(buckets.items())
        ]
        self._which = {initial: named(entries + anywhere) for initial, entries in buckets.items()}
        self._anywhere = named(anywhere) if anywhere else None
        if anywhere:
            initials = "".join(re.escape(i) for i in sorted(buckets))
            guard = f"(?![{initials}])" if initials else ""
            branches.append(f"{guard}(?:{plain(anywhere)})")
        self.regex = (
            re.compile(rf"(?<!\w)(?:{'|'.join(branches)})(?!\w)", re.I) if branches else None
        )

    def finditer(self, text: str, start: int = 0, end: int | None = None) -> list[Found]:
        if self.regex is None:
            return []
        end = len(text) if end is None else end
        found = []
        for m in self.regex.finditer(text, start, end):
            # casefold, as the regex's case-insensitivity does ("\u017f" is an "s")
            which, slugs = self._which.get(text[m.start()].casefold()[:1]) or self._anywhere
            named = which.match(text, m.start(), end)
            if named is not None:
                found.append(Found(slugs[int(named.lastgroup[1:])], m.start(), m.end()))
        return found

    def slugs(self, text: str, start: int = 0, end: int | None = None) -> list[str]:
        """Distinct slugs in order of first appearance."""
        return list(dict.fromkeys(f.slug for f in self.finditer(text, start, end)))


KINDS = ("treatment", "body_region", "specialty", "guideline", "state", "mtus_section")


class Vocabulary:
    """The vocabularies, with matchers compiled once per instance (on first use)."""

    def __init__(self, tables: Mapping[str, tuple[Term, ...]]) -> None:
        self.tables = {k: tuple(v) for k, v in tables.items()}
        self._matchers: dict[str, Matcher] = {}

    def terms(self, kind: str) -> tuple[Term, ...]:
        return self.tables[kind]

    def matcher(self, kind: str) -> Matcher:
        m = self._matchers.get(kind)
        if m is None:
            m = self._matchers[kind] = Matcher(self.tables[kind])
        return m

    def compile_all(self) -> None:
        """Compile every matcher now (e.g. before forking worker processes that will use them)."""
        for kind in self.tables:
            self.matcher(kind)

    def term(self, kind: str, slug: str) -> Term | None:
        return next((t for t in self.tables[kind] if t.slug == slug), None)

    def with_extra_aliases(self, extra: Mapping[str, Mapping[str, Iterable[str]]]) -> Vocabulary:
        """A new vocabulary with more aliases, e.g. ``{"body_region": {"lumbar_spine": ["L/S"]}}``.

        An unknown slug becomes a new term labelled by its slug. Bad regexes raise ValueError.
        """
        tables = {k: list(v) for k, v in self.tables.items()}
        for kind, by_slug in extra.items():
            if kind not in tables:
                raise ValueError(f"unknown vocabulary {kind!r}; expected one of {KINDS}")
            for slug, aliases in by_slug.items():
                aliases = tuple(aliases)
                for a in aliases:
                    try:
                        re.compile(_alias_pattern(a))
                    except re.error as exc:
                        raise ValueError(f"bad alias {a!r} for {kind}/{slug}: {exc}") from exc
                for i, t in enumerate(tables[kind]):
                    if t.slug == slug:
                        tables[kind][i] = Term(t.slug, t.label, t.aliases + aliases, t.pages)
                        break
                else:
                    tables[kind].append(Term(slug, slug.replace("_", " "), aliases))
        return Vocabulary({k: tuple(v) for k, v in tables.items()})


DEFAULT_VOCABULARY = Vocabulary(
    {
        "treatment": TREATMENTS,
        "body_region": BODY_REGIONS,
        "specialty": SPECIALTIES,
        "guideline": GUIDELINES,
        "state": STATES,
        "mtus_section": MTUS_SECTIONS,
    }
)
