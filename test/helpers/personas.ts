/** A custom persona's definition as `POST /api/v1/personas` takes it. */
export const personaDefinition = (id: string, name: string) => ({
  persona_id: id,
  name,
  type: 'counselor',
  specialization: 'solution_focused',
  description: `${name}, a solution-focused counsellor`,
  background: 'Ten years of brief solution-focused work.',
  approach: 'Looks for what already works and builds on it.',
  techniques: ['scaling questions', 'exception finding'],
  suitable_for: ['stress', 'goal setting'],
  voice_settings: { pitch: 'medium', rate: 'medium', style: 'warm' },
  communication_style: { formality: 0.4, directiveness: 0.5, warmth: 0.9, complexity: 0.4 },
  opening_lines: [`Hello, this is ${name}.`],
});
