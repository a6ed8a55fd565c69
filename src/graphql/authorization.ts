import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { AuthCheckerFn } from 'type-graphql';
import { DomainError } from '../domain/shared/decider';
import { TOKEN_ROLES, type AuthenticatedActor } from './auth';
import { clientError } from './errors';

const SIGN_IN_HINT = 'Send "Authorization: Bearer <token>" with the request (`npm run token -- --role <role> --subject <id>` mints one).';

const describeRoles = (roles: readonly string[]): string =>
  roles.length === 1 ? `the role ${roles[0]}` : `one of the roles ${roles.join(', ')}`;

/**
 * type-graphql's auth checker. `@Authorized()` admits any authenticated caller;
 * `@Authorized('admin', 'auditor')` admits those roles. It throws rather than returning false so
 * the client learns what was missing: UNAUTHENTICATED when there is no caller, FORBIDDEN when the
 * role does not fit. Pass it as `buildSchema({ authChecker })`. Write `@Authorized<TokenRole>('admin')`
 * to have the compiler check role names; unknown names fail loudly at run time either way.
 */
export const authChecker: AuthCheckerFn<{ readonly actor: AuthenticatedActor | null }, string> = ({ context, info }, roles) => {
  const unknown = roles.filter((role) => !(TOKEN_ROLES as readonly string[]).includes(role));
  if (unknown.length > 0) {
    // A typo in a decorator would otherwise lock everyone out silently.
    throw new Error(`@Authorized on ${info.parentType.name}.${info.fieldName} names unknown role(s) ${unknown.join(', ')}.`);
  }
  const where = `${info.parentType.name}.${info.fieldName}`;
  if (!context.actor) {
    throw new DomainError('UNAUTHENTICATED', `${where} needs a signed-in caller. ${SIGN_IN_HINT}`);
  }
  if (roles.length === 0 || roles.includes(context.actor.role)) return true;
  throw new DomainError(
    'FORBIDDEN',
    `${where} needs ${describeRoles(roles)}; your token has role ${context.actor.role}.`,
    { requiredRoles: roles, role: context.actor.role },
  );
};

export interface AnonymousAccessOptions {
  /** Root fields an anonymous caller may select (default: `health`). `__typename` is always allowed. */
  readonly publicFields?: readonly string[];
  /** Whether anonymous callers may introspect the schema (default: no). */
  readonly allowIntrospection?: boolean;
}

/** Root field names an operation selects, through fragments, ignoring `@skip`/`@include` (worst case). */
const rootFieldNames = (
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  seen = new Set<string>(),
): string[] =>
  selectionSet.selections.flatMap((selection) => {
    switch (selection.kind) {
      case Kind.FIELD:
        return [selection.name.value];
      case Kind.INLINE_FRAGMENT:
        return rootFieldNames(selection.selectionSet, fragments, seen);
      case Kind.FRAGMENT_SPREAD: {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) return [];
        seen.add(fragment.name.value);
        return rootFieldNames(fragment.selectionSet, fragments, seen);
      }
    }
  });

/**
 * Refuses any anonymous operation that asks for more than the public fields, before anything runs.
 * A resolver that forgets `@Authorized()` is therefore still closed to anonymous callers; roles
 * remain the auth checker's job.
 */
export const anonymousAccessPlugin = (
  options: AnonymousAccessOptions = {},
): ApolloServerPlugin<{ readonly actor: AuthenticatedActor | null }> => {
  const allowed = new Set(['__typename', ...(options.publicFields ?? ['health'])]);
  if (options.allowIntrospection) {
    allowed.add('__schema');
    allowed.add('__type');
  }
  const publicList = [...allowed].filter((name) => !name.startsWith('__')).join(', ');
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, document }) {
          if (contextValue.actor || !operation) return;
          const fragments = new Map(
            document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
          );
          const refused = [...new Set(rootFieldNames(operation.selectionSet, fragments))].filter(
            (name) => operation.operation !== 'query' || !allowed.has(name),
          );
          if (refused.length === 0) return;
          throw clientError(
            'UNAUTHENTICATED',
            `Sign in first: anonymous callers may only query ${publicList}, and this ${operation.operation} asks for ${refused.join(', ')}. ${SIGN_IN_HINT}`,
            { status: 401 },
          );
        },
      };
    },
  };
};
