import { getMetadataStorage } from 'class-validator/cjs/metadata/MetadataStorage';
import type { ValidationMetadata } from 'class-validator/cjs/metadata/ValidationMetadata';

/**
 * The class-validator decorators and checks this service uses, each loaded from its own file.
 * class-validator's index loads every validator it has (all of validator.js and libphonenumber-js's
 * metadata): ~0.15–0.2 s of CPU in every server start for the dozen used here (BENCHMARKS.md,
 * embedded-rest). The same files the index would load, so the metadata the decorators record is the
 * one the Validator reads. Their types are class-validator's own (`types/`, mapped in tsconfig.json);
 * import types from 'class-validator' as before (erased, nothing loaded). A decorator not listed here:
 * add it from its file (node_modules/class-validator/cjs/decorator/).
 */
export { ArrayMaxSize } from 'class-validator/cjs/decorator/array/ArrayMaxSize';
export { ArrayMinSize } from 'class-validator/cjs/decorator/array/ArrayMinSize';
export { IsIn } from 'class-validator/cjs/decorator/common/IsIn';
export { IsOptional } from 'class-validator/cjs/decorator/common/IsOptional';
export { ValidateNested } from 'class-validator/cjs/decorator/common/ValidateNested';
export { Max } from 'class-validator/cjs/decorator/number/Max';
export { Min } from 'class-validator/cjs/decorator/number/Min';
export { IsEmail, isEmail } from 'class-validator/cjs/decorator/string/IsEmail';
export { Length } from 'class-validator/cjs/decorator/string/Length';
export { Matches } from 'class-validator/cjs/decorator/string/Matches';
export { IsBoolean } from 'class-validator/cjs/decorator/typechecker/IsBoolean';
export { IsInt } from 'class-validator/cjs/decorator/typechecker/IsInt';
export { IsNumber } from 'class-validator/cjs/decorator/typechecker/IsNumber';
export { Validator } from 'class-validator/cjs/validation/Validator';


const REMEMBERING = Symbol.for('mentoring.classValidatorRulesRemembered');

/**
 * Makes class-validator work out each input class's rules once instead of on every validation.
 * Unaided, it finds a class's rules anew for every object it validates, its ancestors' included by
 * testing every class that has rules with `instanceof` (0.8 % of a `changeUserStatus`'s busy CPU,
 * half of class-validator's share). The rules are recorded by the decorators when the classes are
 * defined; a rule recorded later (a class defined afterwards) forgets everything remembered. Safe to
 * call more than once.
 */
export const rememberValidationRules = (): void => {
  const storage = getMetadataStorage() as ReturnType<typeof getMetadataStorage> & { [REMEMBERING]?: true };
  if (storage[REMEMBERING]) return;
  storage[REMEMBERING] = true;
  const find = storage.getTargetValidationMetadatas.bind(storage);
  const add = storage.addValidationMetadata.bind(storage);
  let known = new Map<unknown, Map<string, ValidationMetadata[]>>();
  storage.addValidationMetadata = (metadata) => {
    known = new Map();
    add(metadata);
  };
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    const key = `${schema}\u0000${always}\u0000${strictGroups}\u0000${groups?.join('\u0000') ?? ''}`;
    let byOptions = known.get(target);
    if (!byOptions) known.set(target, (byOptions = new Map()));
    let rules = byOptions.get(key);
    if (!rules) byOptions.set(key, (rules = find(target, schema, always, strictGroups, groups)));
    return rules;
  };
};
