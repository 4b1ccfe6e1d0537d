/**
 * Made-up clients that look like real ones: varied names (a few with accents, which exercise the
 * accent-insensitive search), e-mail addresses on the reserved example domains (RFC 2606), phone
 * numbers from the ranges set aside for fiction (NANP 555-0100…0199, Ofcom 07700 900xxx), and
 * adult birth dates. Nothing here can reach a real person.
 */
import type { Random } from './random';

const FIRST_NAMES = [
  'Amelia',
  'Ananya',
  'Ben',
  'Carlos',
  'Chloé',
  'Daniel',
  'Deborah',
  'Emeka',
  'Eva',
  'Fatima',
  'Grace',
  'Hannah',
  'Hiroshi',
  'Isaac',
  'Jasmine',
  'José',
  'Kai',
  'Karen',
  'Leila',
  'Liam',
  'Lucy',
  'Marcus',
  'Maya',
  'Mohammed',
  'Nadia',
  'Noah',
  'Olivia',
  'Omar',
  'Priya',
  'Rachel',
  'Rafael',
  'Renée',
  'Ryan',
  'Sam',
  'Sara',
  'Sean',
  'Sofia',
  'Tariq',
  'Thomas',
  'Tom',
  'Uma',
  'Victor',
  'Wei',
  'Yusuf',
  'Zara',
  'Zoë',
  'Aisha',
  'Connor',
] as const;

const LAST_NAMES = [
  'Adeyemi',
  'Anderson',
  'Bauer',
  'Brown',
  'Chen',
  'Clarke',
  'Costa',
  'Davies',
  'Dubois',
  'Evans',
  'Fernández',
  'Fischer',
  'Garcia',
  'Gupta',
  'Hughes',
  'Ivanova',
  'Jensen',
  'Johnson',
  'Kaur',
  'Kelly',
  'Khan',
  'Kowalski',
  'Lee',
  'Martin',
  "O'Brien",
  'Murphy',
  'Nakamura',
  'Nguyen',
  'Novak',
  'Okafor',
  'Patel',
  'Petrov',
  'Quinn',
  'Rossi',
  'Santos',
  'Schmidt',
  'Singh',
  'Smith',
  'Taylor',
  'Thompson',
  'Walker',
  'Williams',
  'Wilson',
  'Yamamoto',
  'Young',
  'Zhang',
  'Byrne',
  'Silva',
] as const;

const DOMAINS = ['example.com', 'example.org', 'example.net'] as const;
const US_AREA_CODES = ['206', '212', '312', '415', '512', '617', '713', '818'] as const;

export interface Person {
  first_name: string;
  last_name: string;
  email?: string;
  phone?: string;
  date_of_birth?: string;
}

/**
 * The `index`th client of run `run`. The e-mail carries the run token and index, so a later run
 * (or the same seed again) never collides with the addresses already taken.
 */
export function makePerson(rng: Random, run: string, index: number, today = new Date()): Person {
  const first_name = rng.pick(FIRST_NAMES);
  const last_name = rng.pick(LAST_NAMES);
  const person: Person = { first_name, last_name };
  // Not every record is complete, as in a real practice's list.
  if (rng.chance(0.9)) {
    person.email = `${emailPart(first_name)}.${emailPart(last_name)}+${run}.${index + 1}@${rng.pick(DOMAINS)}`;
  }
  if (rng.chance(0.8)) person.phone = phoneNumber(rng);
  if (rng.chance(0.85)) person.date_of_birth = birthDate(rng, today);
  return person;
}

/** Lower-case ASCII: accents dropped, apostrophes and spaces gone. */
function emailPart(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

function phoneNumber(rng: Random): string {
  const tail = String(rng.int(0, 99)).padStart(2, '0');
  return rng.chance(0.5)
    ? `+1 (${rng.pick(US_AREA_CODES)}) 555-01${tail}`
    : `+44 7700 900${String(rng.int(0, 999)).padStart(3, '0')}`;
}

/** Someone between 18 and 75 years old today. */
function birthDate(rng: Random, today: Date): string {
  const year = today.getUTCFullYear() - rng.int(19, 75);
  const day = new Date(Date.UTC(year, 0, 1) + rng.int(0, 364) * 86_400_000);
  return day.toISOString().slice(0, 10);
}
