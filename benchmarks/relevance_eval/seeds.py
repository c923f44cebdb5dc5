"""Hand-written material for the relevance evaluation set.

Questions come in *near-miss pairs*: two questions from the same domain that
share vocabulary but ask different things, so "the answer to the sibling
question" is an irrelevant answer that plain word overlap finds hard to tell
apart.  Each question has:

* ``topic``: how a refusal would echo it ("resetting your password");
* ``direct``: a relevant answer in the question's own words;
* ``paraphrase``: a relevant answer that avoids the question's words, so word
  overlap alone cannot find it.
"""

from __future__ import annotations

from typing import NamedTuple


class Seed(NamedTuple):
    question: str
    topic: str
    direct: str
    paraphrase: str


PAIRS: list[tuple[Seed, Seed]] = [
    (
        Seed("How do I reset my password?", "resetting your password",
             "To reset your password, open the sign-in page, click 'Forgot password' and follow the reset link we email you.",
             "On the login screen choose 'Trouble signing in?'; a link arrives by mail that lets you pick new credentials."),
        Seed("How do I change the email address on my account?", "changing your account email",
             "Go to Account settings, edit the email address field, save, and confirm the change from the new email.",
             "Open your profile, type the new mailbox under Contact details, then click the verification link sent there."),
    ),
    (
        Seed("How do I install numpy on Windows?", "installing numpy",
             "Install numpy on Windows with pip: open a terminal and run `pip install numpy`.",
             "Open PowerShell and type `py -m pip install` followed by the package name; the wheel for your Python downloads automatically."),
        Seed("How do I create a numpy array filled with zeros?", "creating numpy arrays",
             "Use numpy.zeros: `np.zeros((3, 4))` creates a 3x4 array filled with zeros.",
             "Call `np.zeros` with the shape you want, e.g. `np.zeros(5)` gives five 0.0 values."),
    ),
    (
        Seed("How long should I boil an egg for a soft yolk?", "boiling eggs",
             "For a soft yolk, boil the egg for about 6 minutes, then cool it in cold water.",
             "Six minutes in rolling water, then an ice bath, leaves the centre runny and the white set."),
        Seed("How do I poach an egg without it falling apart?", "poaching eggs",
             "To poach an egg, use very fresh eggs, add a splash of vinegar to simmering water, and stir a gentle whirlpool before sliding the egg in.",
             "Crack it into a small cup first, swirl barely simmering water with a spoon, add a dash of vinegar, and lower it into the vortex for three minutes."),
    ),
    (
        Seed("What are the symptoms of dehydration?", "dehydration symptoms",
             "Symptoms of dehydration include thirst, dark urine, dry mouth, tiredness, dizziness and headaches.",
             "You may feel very thirsty, pee less and darker than usual, get a headache, and feel light-headed or tired."),
        Seed("How much water should an adult drink per day?", "daily water intake",
             "Most adults should drink about 2 to 3 litres of water per day, more in hot weather or when exercising.",
             "Roughly eight glasses, around two litres, is a sensible daily target; add more when it is hot or you sweat a lot."),
    ),
    (
        Seed("What is the capital of Australia?", "Australian geography",
             "The capital of Australia is Canberra.",
             "It's Canberra, a planned city chosen as a compromise between Sydney and Melbourne."),
        Seed("What is the largest city in Australia?", "Australian cities",
             "The largest city in Australia is Sydney, with over five million people.",
             "Sydney, home to more than five million people, is the biggest."),
    ),
    (
        Seed("How do I undo the last git commit but keep my changes?", "undoing git commits",
             "Run `git reset --soft HEAD~1` to undo the last commit and keep your changes staged.",
             "Use `git reset --soft HEAD~1`: the snapshot is removed but your edited files stay as they are, ready to be recommitted."),
        Seed("How do I delete a remote git branch?", "deleting remote branches",
             "Delete a remote branch with `git push origin --delete branch-name`.",
             "Push with the --delete flag: `git push origin --delete feature-x` removes it from the server."),
    ),
    (
        Seed("When did World War II end?", "the end of World War II",
             "World War II ended in 1945: in Europe on 8 May 1945 and in the Pacific on 2 September 1945.",
             "Germany surrendered in May 1945 and Japan signed its surrender that September, closing the conflict."),
        Seed("Why did World War II start?", "the causes of World War II",
             "World War II started because of German expansionism under Hitler, the failure of appeasement, and the invasion of Poland in 1939.",
             "Nazi Germany's aggression, punitive terms from Versailles, the Depression and appeasement led to Hitler invading Poland in September 1939."),
    ),
    (
        Seed("How can I improve my credit score?", "improving your credit score",
             "To improve your credit score, pay bills on time, keep credit card balances low, and avoid opening many new accounts.",
             "Pay everything by the due date, use well under a third of your card limits, and don't apply for lots of new loans at once."),
        Seed("How do I check my credit report for free?", "checking your credit report",
             "You can check your credit report for free once a year at AnnualCreditReport.com from each of the three bureaus.",
             "Each of Equifax, Experian and TransUnion must give you one no-cost copy yearly through AnnualCreditReport.com."),
    ),
    (
        Seed("Do I need a visa to visit Japan as a US citizen?", "Japanese visas",
             "No, US citizens do not need a visa to visit Japan for tourism stays of up to 90 days.",
             "Americans can enter visa-free as tourists for up to three months; just bring a passport valid for the trip."),
        Seed("What is the best time of year to visit Japan?", "planning a trip to Japan",
             "The best time to visit Japan is spring (March to May) for cherry blossoms or autumn (October to November) for mild weather and foliage.",
             "Late March to May brings the sakura, and October-November offers cool days and red maples; both beat the humid summer."),
    ),
    (
        Seed("How do I reverse a list in Python?", "reversing Python lists",
             "Reverse a list in Python with `my_list.reverse()` in place, or `my_list[::-1]` to get a reversed copy.",
             "Call `.reverse()` on it to flip it in place, or slice with a step of -1 for a new backwards copy."),
        Seed("How do I sort a list of dictionaries by a key in Python?", "sorting Python lists",
             "Sort a list of dictionaries by a key with `sorted(items, key=lambda d: d['age'])`.",
             "Pass a key function: `sorted(people, key=operator.itemgetter('age'))` orders them by that field."),
    ),
    (
        Seed("How often should I water a cactus?", "watering cacti",
             "Water a cactus about every two to three weeks in summer and once a month or less in winter, letting the soil dry out completely.",
             "Only when the soil is bone dry: roughly every fortnight in the growing season and barely at all in the cold months."),
        Seed("Why are my tomato plant leaves turning yellow?", "yellowing tomato leaves",
             "Tomato leaves turn yellow from overwatering, nitrogen deficiency, or early blight; remove affected leaves and check watering.",
             "Usually too much water, a lack of nitrogen, or a fungal disease such as early blight; prune the damaged foliage and feed the plant."),
    ),
    (
        Seed("How do I change a flat tire?", "changing a flat tire",
             "To change a flat tire, loosen the lug nuts, jack up the car, remove the flat tire, mount the spare, and tighten the nuts in a star pattern.",
             "Crack the wheel nuts loose, raise the vehicle, swap the wheel for the spare, then snug the nuts crosswise and lower it."),
        Seed("How often should I change my car's oil?", "oil changes",
             "Change your car's oil every 5,000 to 7,500 miles with synthetic oil, or as your owner's manual recommends.",
             "Most modern engines with synthetic lubricant need fresh oil every 5k to 7.5k miles; follow the maintenance schedule in the handbook."),
    ),
    (
        Seed("How do I stop my puppy from biting?", "puppy biting",
             "To stop a puppy from biting, redirect it to a chew toy, yelp and pause play when it bites, and reward gentle behaviour.",
             "Give it something to chew instead, end the game briefly whenever teeth touch skin, and praise calm mouthing."),
        Seed("How much should I feed my puppy?", "feeding puppies",
             "Feed your puppy three to four small meals a day; the amount depends on its weight, so follow the food's feeding chart.",
             "Split the daily ration into three or four servings and use the guide on the bag for its weight and expected adult size."),
    ),
    (
        Seed("What causes the seasons on Earth?", "the seasons",
             "The seasons are caused by the tilt of Earth's axis, about 23.5 degrees, which changes how directly sunlight hits each hemisphere during the year.",
             "Our planet leans about 23.5 degrees, so over the year each half gets more or less direct sunshine; distance from the Sun plays almost no role."),
        Seed("Why is the sky blue?", "the colour of the sky",
             "The sky is blue because air molecules scatter blue light from the sun more than red light (Rayleigh scattering).",
             "Short wavelengths scatter far more off nitrogen and oxygen molecules, so scattered sunlight reaching us from all directions looks bluish."),
    ),
    (
        Seed("How do I get rid of a tension headache?", "treating tension headaches",
             "To get rid of a tension headache, take ibuprofen or paracetamol, rest, drink water, and relax your neck and shoulders.",
             "An over-the-counter painkiller, a glass of water, a short break from screens and gentle neck stretches usually ease it."),
        Seed("When should a headache be a reason to see a doctor?", "headaches that need a doctor",
             "See a doctor for a headache that is sudden and severe, follows a head injury, or comes with fever, stiff neck, confusion or vision changes.",
             "Seek medical care for a thunderclap onset, pain after a blow to the head, or pain with fever, neck stiffness, weakness or blurred sight."),
    ),
    (
        Seed("How do I unclog a kitchen sink?", "unclogging sinks",
             "To unclog a kitchen sink, pour boiling water down the drain, use a plunger, or clean the P-trap under the sink.",
             "Try very hot water first, then a cup plunger; if it's still blocked, unscrew the U-bend below and clear the gunk."),
        Seed("How do I fix a leaking kitchen faucet?", "fixing leaking faucets",
             "To fix a leaking kitchen faucet, turn off the water, take the handle apart, and replace the worn cartridge or washer.",
             "Shut the supply valves, remove the handle and replace the worn-out O-ring or valve insert, then reassemble."),
    ),
    (
        Seed("What is the difference between a Roth IRA and a traditional IRA?", "Roth and traditional IRAs",
             "A Roth IRA is funded with after-tax money and withdrawals are tax-free; a traditional IRA gives a tax deduction now and withdrawals are taxed.",
             "With one you pay tax up front and take money out tax-free in retirement; with the other you deduct contributions today and pay tax when you withdraw."),
        Seed("How much can I contribute to an IRA each year?", "IRA contribution limits",
             "For 2024 you can contribute up to $7,000 to an IRA, or $8,000 if you are 50 or older.",
             "The 2024 limit is $7,000, plus a $1,000 catch-up once you turn 50."),
    ),
    (
        Seed("How do I center a div in CSS?", "centering elements in CSS",
             "Center a div in CSS with flexbox on the parent: `display: flex; justify-content: center; align-items: center;`.",
             "Make the container a flex box and set both justify-content and align-items to center; the child sits in the middle."),
        Seed("How do I make a website responsive for mobile?", "responsive web design",
             "Make a website responsive with a viewport meta tag, fluid layouts, and CSS media queries for mobile screen sizes.",
             "Add `<meta name=viewport content='width=device-width'>`, use percentage widths and flexible grids, and adapt styles with @media breakpoints."),
    ),
    (
        Seed("Who wrote Pride and Prejudice?", "Pride and Prejudice",
             "Pride and Prejudice was written by Jane Austen and published in 1813.",
             "Jane Austen; it first appeared in 1813."),
        Seed("What is Pride and Prejudice about?", "the plot of Pride and Prejudice",
             "Pride and Prejudice is about Elizabeth Bennet and Mr Darcy, whose pride and prejudice delay their romance in Regency England.",
             "Elizabeth Bennet and the wealthy Mr Darcy misjudge each other until misunderstandings clear and they fall in love, against a backdrop of marriage and class."),
    ),
    (
        Seed("How many calories should I eat to lose weight?", "calories for weight loss",
             "To lose weight, eat about 500 calories fewer than your maintenance calories per day, which leads to roughly 0.5 kg of weight loss a week.",
             "Aim for a daily deficit of about 500 kcal below what you burn; that trims around a pound a week."),
        Seed("Is running or cycling better for losing weight?", "running versus cycling",
             "Running burns slightly more calories per hour than cycling, but for losing weight the better choice is whichever you will do consistently.",
             "Jogging burns a bit more energy per hour, yet the one you'll stick with week after week matters more for fat loss."),
    ),
    (
        Seed("How do I convert a string to an integer in JavaScript?", "string conversion in JavaScript",
             "Convert a string to an integer in JavaScript with `parseInt(str, 10)` or `Number(str)`.",
             "Use `parseInt(value, 10)`, or the unary plus `+value`; both give you a number."),
        Seed("How do I check if a JavaScript array contains a value?", "searching JavaScript arrays",
             "Check if a JavaScript array contains a value with `array.includes(value)`.",
             "Call `.includes(x)` on it; it returns true or false. Older code uses `indexOf(x) !== -1`."),
    ),
    (
        Seed("What is photosynthesis?", "photosynthesis",
             "Photosynthesis is the process by which plants use sunlight, water and carbon dioxide to make glucose and release oxygen.",
             "Green plants capture light energy with chlorophyll and turn CO2 and water into sugar, giving off oxygen."),
        Seed("What is cellular respiration?", "cellular respiration",
             "Cellular respiration is the process by which cells break down glucose with oxygen to release energy as ATP, carbon dioxide and water.",
             "Cells burn sugar with oxygen in the mitochondria to produce ATP, giving off CO2 and water."),
    ),
    (
        Seed("Can my landlord raise the rent during a lease?", "rent increases",
             "Usually no: a landlord cannot raise the rent during a fixed-term lease unless the lease allows it; they can at renewal.",
             "Not normally while the fixed term runs, unless your contract has a clause permitting it; increases typically come when it's renewed."),
        Seed("How much notice does a landlord need to give before entering?", "landlord entry notice",
             "Most places require a landlord to give 24 hours' written notice before entering, except in emergencies.",
             "Typically a day's notice in writing, unless there is an emergency like a burst pipe."),
    ),
    (
        Seed("How do I take a screenshot on a Mac?", "taking screenshots on a Mac",
             "To take a screenshot on a Mac, press Shift-Command-3 for the whole screen or Shift-Command-4 to select an area.",
             "Hit Shift-Cmd-3 to capture everything, Shift-Cmd-4 to drag a region, or Shift-Cmd-5 for the capture toolbar."),
        Seed("How do I free up disk space on a Mac?", "freeing disk space on a Mac",
             "Free up disk space on a Mac with Apple menu > System Settings > General > Storage, removing large files, old apps and emptying the Trash.",
             "Open the Storage panel under General settings, review its recommendations, delete big downloads and unused applications, then empty the bin."),
    ),
    (
        Seed("What is the boiling point of water at high altitude?", "boiling at altitude",
             "At high altitude the boiling point of water is lower; at 3,000 m it boils at about 90 degrees Celsius.",
             "Lower air pressure up high means it bubbles sooner, around 90 °C at 3,000 metres instead of 100 °C."),
        Seed("Why does salt melt ice on roads?", "salting roads",
             "Salt melts ice on roads because it lowers the freezing point of water, so the ice turns into brine.",
             "Dissolved sodium chloride depresses the freezing point, so the frozen layer becomes liquid brine at temperatures below 0 °C."),
    ),
]

#: Generic refusals; ``{topic}`` is the question's topic, as real refusals echo it.
REFUSALS: list[str] = [
    "I'm sorry, but I can't help with {topic}.",
    "I'm sorry, I cannot provide information about {topic}.",
    "As an AI language model, I am not able to give advice on {topic}.",
    "Unfortunately, I am unable to assist with questions about {topic}.",
    "I don't have enough information to answer questions on {topic}.",
    "Sorry, I can't answer that. Questions about {topic} are outside my scope.",
]

#: Boilerplate that fills an answer without answering.
BOILERPLATE: list[str] = [
    "Thank you for reaching out! We appreciate your message and will get back to you as soon as possible.",
    "Great question! Let me know if there is anything else I can help you with today.",
    "Your request has been received. A member of our team will contact you within 2 business days.",
    "Please see our FAQ and documentation for more details. Have a wonderful day!",
    "Thanks for your patience. Is there anything else you would like to know?",
    "This conversation may be recorded for quality and training purposes.",
]
