#!/usr/bin/env python3
"""Seeded probabilistic grammar of short children's stories.

Every story is one line of plain ASCII text.  The grammar has a handful of plots
(a lost toy, sharing, a scary noise, building something, helping an animal, a
trip on a rainy/sunny day), a cast of children and animals with pronoun and
article agreement ("she ... her", "an owl", "a red kite"), simple dialogue in
double quotes and a closing moral.  The vocabulary is a few hundred words, so a
model of a few hundred thousand parameters can learn most of the structure in
minutes on one CPU thread, while names, objects, places and feelings still carry
real uncertainty (and long-range agreement: a story keeps its hero, friend and
toy from the first sentence to the last).

Usage:
  corpus.py --seed 2002 --chars 30000 --out public/default-model/evaluation.txt

Nothing here is copied from any dataset; the text is produced only by the rules
below and Python's seeded `random.Random`.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass

GIRLS = ["Lily", "Mia", "Sue", "Anna", "Lucy", "Emma", "Zoe", "Ella"]
BOYS = ["Tom", "Ben", "Max", "Sam", "Tim", "Jack", "Leo", "Bob"]
KID_ADJ = ["little", "kind", "brave", "happy", "curious", "small", "shy", "funny"]

# (noun, sound, what it likes to eat)
ANIMALS = [
    ("dog", "woof", "bones"),
    ("cat", "meow", "fish"),
    ("bird", "tweet", "seeds"),
    ("frog", "ribbit", "bugs"),
    ("bunny", "squeak", "carrots"),
    ("duck", "quack", "bread"),
    ("bear", "growl", "honey"),
    ("fox", "yip", "berries"),
    ("owl", "hoot", "mice"),
    ("mouse", "squeak", "cheese"),
    ("elephant", "toot", "peanuts"),
    ("ant", "buzz", "sugar"),
]
ANIMAL_ADJ = ["big", "little", "old", "friendly", "fluffy", "tiny", "silly", "gentle"]

# (object, can it be thrown/flown etc. -> verb used when playing)
OBJECTS = [
    ("ball", "throw"),
    ("kite", "fly"),
    ("toy car", "push"),
    ("doll", "hug"),
    ("book", "read"),
    ("hat", "wear"),
    ("boat", "sail"),
    ("balloon", "hold"),
    ("drum", "play"),
    ("teddy bear", "hug"),
    ("truck", "push"),
    ("shell", "hold"),
]
COLORS = ["red", "blue", "green", "yellow", "pink", "orange", "purple", "shiny", "new", "old"]

# (place, a thing found there to hide behind / under, where the hero lives nearby)
PLACES = [
    ("park", "the big tree"),
    ("forest", "a pile of leaves"),
    ("garden", "the flowers"),
    ("beach", "a big rock"),
    ("farm", "the old barn"),
    ("lake", "a log"),
    ("hill", "a bush"),
    ("playground", "the slide"),
    ("meadow", "the tall grass"),
    ("river", "a stone"),
]
HOMES = ["a small house", "a big house", "a little town", "a blue house", "a cozy home", "a yellow house"]
NEAR = ["near the forest", "by the sea", "next to a farm", "on a hill", "near a big park", "by a river"]

GOOD_FEELINGS = ["happy", "glad", "excited", "proud"]
BAD_FEELINGS = ["sad", "upset", "worried", "scared"]
WEATHER = [("sunny", "the sun was shining"), ("windy", "the wind was blowing"),
           ("rainy", "the rain was falling"), ("snowy", "the snow was falling")]
BUILD = [("a sand castle", "sand"), ("a tall tower", "blocks"), ("a snowman", "snow"),
         ("a little house", "sticks"), ("a big fort", "boxes")]
FOODS = ["cookies", "apples", "cake", "soup", "pie", "bread", "jam"]
ADULTS = [("Mom", "f"), ("Dad", "m"), ("Grandma", "f"), ("Grandpa", "m")]

VOWEL_START = set("aeiou")


def art(phrase: str) -> str:
    """'a' or 'an' followed by the phrase."""
    return ("an " if phrase[0] in VOWEL_START else "a ") + phrase


def cap(s: str) -> str:
    return s[0].upper() + s[1:]


@dataclass
class Person:
    name: str
    gender: str  # "f" or "m"

    @property
    def he(self) -> str:
        return "she" if self.gender == "f" else "he"

    @property
    def him(self) -> str:
        return "her" if self.gender == "f" else "him"

    @property
    def his(self) -> str:
        return "her" if self.gender == "f" else "his"

    @property
    def kind(self) -> str:
        return "girl" if self.gender == "f" else "boy"


class Story:
    def __init__(self, rng: random.Random):
        self.r = rng
        self.s: list[str] = []

    def pick(self, xs):
        return self.r.choice(xs)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def say(self, sentence: str) -> None:
        self.s.append(sentence)

    def text(self) -> str:
        return " ".join(self.s)

    # ---- shared pieces -------------------------------------------------
    def hero(self) -> Person:
        if self.chance(0.5):
            return Person(self.pick(GIRLS), "f")
        return Person(self.pick(BOYS), "m")

    def friend_kid(self, hero: Person) -> Person:
        while True:
            p = self.hero()
            if p.name != hero.name:
                return p

    def opening(self, h: Person) -> None:
        adj = self.pick(KID_ADJ)
        form = self.r.randrange(4)
        if form == 0:
            self.say(f"Once upon a time, there was {art(adj)} {h.kind} named {h.name}.")
        elif form == 1:
            self.say(f"Once upon a time, there was {art(adj)} {h.kind} named {h.name}.")
            self.say(f"{cap(h.he)} lived in {self.pick(HOMES)} {self.pick(NEAR)}.")
        elif form == 2:
            self.say(f"One day, {art(adj)} {h.kind} named {h.name} woke up early.")
        else:
            self.say(f"There was {art(adj)} {h.kind} named {h.name}.")
            self.say(f"{h.name} was {self.r.choice(['three', 'four', 'five', 'six'])} years old.")

    def animal(self):
        noun, sound, food = self.pick(ANIMALS)
        adj = self.pick(ANIMAL_ADJ) if self.chance(0.6) else ""
        return noun, sound, food, adj

    def toy(self):
        obj, verb = self.pick(OBJECTS)
        color = self.pick(COLORS)
        return obj, verb, color

    def ending(self, h: Person, friend: str) -> None:
        r = self.r.randrange(5)
        if r == 0:
            self.say(f"{h.name} and {friend} became best friends.")
        elif r == 1:
            self.say(f"From that day on, {h.name} and {friend} played together every day.")
        elif r == 2:
            self.say(f"{h.name} smiled and went home.")
        elif r == 3:
            self.say(f"It was the best day ever.")
        else:
            self.say(f"They were very {self.pick(GOOD_FEELINGS)}.")
        if self.chance(0.3):
            self.say("The end.")

    # ---- plots ----------------------------------------------------------
    def plot_lost(self) -> None:
        h = self.hero()
        self.opening(h)
        obj, verb, color = self.toy()
        self.say(f"{h.name} had {art(color)} {obj}.")
        self.say(f"{cap(h.he)} loved to {verb} {h.his} {obj} every day.")
        place, spot = self.pick(PLACES)
        self.say(f"One day, {h.name} went to the {place} with {h.his} {obj}.")
        self.say(f"{cap(h.he)} played and played.")
        self.say(f"But then, {h.name} could not find {h.his} {obj}!")
        feel = self.pick(["sad", "upset", "worried"])
        self.say(f"{h.name} was very {feel}.")
        noun, sound, food, adj = self.animal()
        who = f"{adj} {noun}".strip()
        self.say(f"{cap(art(who))} came to {h.him}.")
        self.say(f"\"Why are you {feel}?\" asked the {noun}.")
        self.say(f"\"I lost my {color} {obj},\" said {h.name}.")
        self.say(f"\"I will help you,\" said the {noun}.")
        self.say(f"They looked and looked.")
        self.say(f"At last, the {noun} found the {obj} under {spot}.")
        self.say(f"{h.name} was so {self.pick(GOOD_FEELINGS)}!")
        self.say(f"\"Thank you!\" said {h.name}.")
        if self.chance(0.5):
            self.say(f"{cap(h.he)} gave the {noun} some {food}.")
        self.ending(h, f"the {noun}")

    def plot_share(self) -> None:
        h = self.hero()
        self.opening(h)
        obj, verb, color = self.toy()
        f = self.friend_kid(h)
        self.say(f"{h.name} had {art(color)} {obj}.")
        place, _ = self.pick(PLACES)
        self.say(f"{cap(h.he)} took it to the {place}.")
        self.say(f"At the {place}, {h.he} met {art(f.kind)} named {f.name}.")
        self.say(f"{f.name} saw the {obj} and said, \"Can I {verb} your {obj} too?\"")
        self.say(f"{h.name} did not want to share.")
        self.say(f"\"No, it is my {obj},\" said {h.name}.")
        self.say(f"{f.name} felt {self.pick(['sad', 'upset'])}.")
        adult, ag = self.pick(ADULTS)
        self.say(f"{h.name}'s {adult.lower()} saw this.")
        self.say(f"\"Sharing is kind,\" said {adult}.")
        self.say(f"{h.name} thought about it.")
        self.say(f"Then {h.he} gave the {obj} to {f.name}.")
        self.say(f"They took turns and played together.")
        self.say(f"{f.name} smiled, and {h.name} smiled too.")
        if self.chance(0.5):
            self.say(f"{h.name} learned that sharing makes everyone {self.pick(GOOD_FEELINGS)}.")
        self.ending(h, f.name)

    def plot_noise(self) -> None:
        h = self.hero()
        self.opening(h)
        when = self.pick(["One night", "One evening", "One morning"])
        place, spot = self.pick(PLACES)
        if when == "One night":
            self.say(f"{when}, {h.name} was in bed.")
        else:
            self.say(f"{when}, {h.name} went to the {place}.")
        noun, sound, food, adj = self.animal()
        self.say(f"{cap(h.he)} heard a noise.")
        self.say(f"\"{cap(sound)}, {sound}!\"")
        self.say(f"{h.name} was scared.")
        self.say(f"\"Who is there?\" {h.he} asked.")
        self.say(f"{h.name} looked behind {spot}.")
        who = f"{adj} {noun}".strip()
        self.say(f"It was just {art(who)}!")
        self.say(f"The {noun} said, \"I am hungry. Do you have some {food}?\"")
        self.say(f"{h.name} laughed.")
        self.say(f"{cap(h.he)} was not scared anymore.")
        self.say(f"{cap(h.he)} gave the {noun} some {food}.")
        self.say(f"The {noun} was very {self.pick(GOOD_FEELINGS)}.")
        if self.chance(0.5):
            self.say(f"\"{cap(sound)}!\" said the {noun}.")
        self.ending(h, f"the {noun}")

    def plot_build(self) -> None:
        h = self.hero()
        self.opening(h)
        f = self.friend_kid(h)
        thing, stuff = self.pick(BUILD)
        place, _ = self.pick(PLACES)
        self.say(f"{h.name} and {h.his} friend {f.name} went to the {place}.")
        self.say(f"They wanted to make {thing}.")
        self.say(f"They used a lot of {stuff}.")
        self.say(f"{h.name} worked hard, and {f.name} worked hard too.")
        self.say(f"Soon, {thing} was done.")
        self.say(f"But then, a big wind came, and it fell down!")
        feel = self.pick(["sad", "upset"])
        self.say(f"{h.name} and {f.name} were {feel}.")
        self.say(f"\"Let's try again,\" said {f.name}.")
        self.say(f"So they made {thing} again.")
        self.say(f"This time, it was even better.")
        self.say(f"They were very proud.")
        if self.chance(0.5):
            self.say(f"{h.name} learned that it is good to try again.")
        self.ending(h, f.name)

    def plot_help(self) -> None:
        h = self.hero()
        self.opening(h)
        place, spot = self.pick(PLACES)
        noun, sound, food, adj = self.animal()
        who = f"{adj} {noun}".strip()
        self.say(f"One day, {h.name} was walking in the {place}.")
        trouble = self.r.randrange(3)
        if trouble == 0:
            self.say(f"{cap(h.he)} saw {art(who)} stuck in a tree.")
            self.say(f"\"Help me!\" said the {noun}.")
            self.say(f"{h.name} climbed the tree very slowly.")
            self.say(f"{cap(h.he)} helped the {noun} get down.")
        elif trouble == 1:
            self.say(f"{cap(h.he)} saw {art(who)} that was crying.")
            self.say(f"\"What is wrong?\" asked {h.name}.")
            self.say(f"\"I hurt my leg,\" said the {noun}.")
            self.say(f"{h.name} put a leaf on the {noun}'s leg.")
        else:
            self.say(f"{cap(h.he)} saw {art(who)} that was very hungry.")
            self.say(f"\"I have no {food},\" said the {noun}.")
            self.say(f"{h.name} ran home and came back with some {food}.")
            self.say(f"{cap(h.he)} gave the {food} to the {noun}.")
        self.say(f"The {noun} felt much better.")
        self.say(f"\"Thank you, {h.name},\" said the {noun}.")
        self.say(f"\"You are very kind.\"")
        self.say(f"{h.name} felt {self.pick(GOOD_FEELINGS)}.")
        self.ending(h, f"the {noun}")

    def plot_weather(self) -> None:
        h = self.hero()
        self.opening(h)
        w, desc = self.pick(WEATHER)
        adult, ag = self.pick(ADULTS)
        self.say(f"It was a {w} day, and {desc}.")
        if w in ("sunny", "windy"):
            obj, verb, color = self.pick([("kite", "fly", "red"), ("ball", "throw", "blue"),
                                           ("kite", "fly", "yellow"), ("boat", "sail", "green")])
            place, _ = self.pick(PLACES)
            self.say(f"{h.name} wanted to go to the {place}.")
            self.say(f"\"Can we go to the {place}?\" {h.he} asked {h.his} {adult.lower()}.")
            self.say(f"\"Yes, we can,\" said {adult}.")
            self.say(f"At the {place}, {h.name} liked to {verb} {h.his} {color} {obj}.")
            self.say(f"{cap(h.he)} ran and laughed all day.")
        else:
            food = self.pick(FOODS)
            self.say(f"{h.name} could not go outside.")
            self.say(f"{cap(h.he)} felt a little {self.pick(['sad', 'bored'])}.")
            self.say(f"\"Let's make some {food},\" said {adult}.")
            self.say(f"{h.name} and {adult} made {food} in the kitchen.")
            self.say(f"The {food} was very good.")
            self.say(f"{h.name} was not {self.pick(['sad', 'bored'])} anymore.")
        self.say(f"That night, {h.name} went to bed with a big smile.")
        self.ending(h, adult)

    def build(self) -> str:
        plot = self.pick([self.plot_lost, self.plot_share, self.plot_noise,
                          self.plot_build, self.plot_help, self.plot_weather])
        plot()
        return self.text()


def generate(seed: int, n_chars: int) -> str:
    """Whole stories, one per line, until at least n_chars characters (ends with a newline)."""
    rng = random.Random(seed)
    out: list[str] = []
    total = 0
    while total < n_chars:
        s = Story(rng).build()
        out.append(s)
        total += len(s) + 1
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--chars", type=int, default=30000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(generate(a.seed, a.chars))


if __name__ == "__main__":
    main()
