/**
 * Where the crisis reply sends people: emergency services and crisis lines, configurable per
 * deployment (`safety.*`). Kept free of other imports so the config module can use the defaults.
 */
import type { RiskCategory } from '../../lib/schemas/safety';

export interface CrisisResource {
  name: string;
  contact: string;
  region?: string | undefined;
  /** The risks it serves; every risk when absent. */
  for?: RiskCategory[] | undefined;
}

export interface CrisisSettings {
  crisis_resources: CrisisResource[];
  emergency_number: string;
}

/** Defaults for English-speaking regions; deployments elsewhere set their own (`safety.*`). */
export const DEFAULT_CRISIS_SETTINGS: CrisisSettings = {
  emergency_number: 'your local emergency number (911 in the US, 999 in the UK, 112 in the EU)',
  crisis_resources: [
    {
      name: '988 Suicide & Crisis Lifeline',
      contact: 'call or text 988',
      region: 'US',
      for: ['suicide', 'self_harm', 'harm_to_others'],
    },
    { name: 'Samaritans', contact: 'call 116 123', region: 'UK and Ireland' },
    {
      name: 'National Domestic Violence Hotline',
      contact: 'call 1-800-799-7233 or text START to 88788',
      region: 'US',
      for: ['abuse'],
    },
    {
      name: 'National Domestic Abuse Helpline',
      contact: 'call 0808 2000 247',
      region: 'UK',
      for: ['abuse'],
    },
  ],
};
