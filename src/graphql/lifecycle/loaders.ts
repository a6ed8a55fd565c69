import { defineLoader } from '../context';
import type { LifecycleServices } from './services';
import type { MatchView, PersonaView, ProgramView, UserView } from '../../../projections/lifecycle/lifecycle.types';

const byKey = <T, K>(keys: readonly K[], rows: readonly T[], keyOf: (row: T) => K): (T | null)[] => {
  const index = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => index.get(key) ?? null);
};

export const userById = defineLoader<string, UserView | null, LifecycleServices>(async (ids, { services }) =>
  byKey(ids, await services.readModel.usersByIds(ids), (user) => user.userId),
);

export const personasOfUser = defineLoader<string, readonly PersonaView[], LifecycleServices>(async (ids, { services }) => {
  const personas = await services.readModel.personasOfUsers(ids);
  return ids.map((id) => personas.filter((persona) => persona.userId === id));
});

export const matchById = defineLoader<string, MatchView | null, LifecycleServices>(async (ids, { services }) =>
  byKey(ids, await services.readModel.matchesByIds(ids), (match) => match.matchId),
);

export const programById = defineLoader<string, ProgramView | null, LifecycleServices>(async (ids, { services }) =>
  Promise.all(ids.map((id) => services.readModel.program(id))),
);
