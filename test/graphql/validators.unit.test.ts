import { Length, Min, Validator, rememberValidationRules } from '../../src/graphql/validators';

// The rules class-validator finds for a class are remembered (rememberValidationRules): a rule
// recorded after a class was first validated must still apply to it and to its subclasses.
describe('remembered validation rules', () => {
  rememberValidationRules();
  rememberValidationRules();
  const validator = new Validator();
  const failing = async (object: object) => (await validator.validate(object, { skipMissingProperties: true, forbidUnknownValues: false })).map((error) => error.property).sort();

  class Named {
    name = '';
  }
  Length(1, 5)(Named.prototype, 'name');
  class Counted extends Named {
    count = 0;
  }
  Min(1)(Counted.prototype, 'count');

  it('applies a class\'s own and inherited rules, the same each time', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await failing(Object.assign(new Named(), { name: 'far too long' }))).toEqual(['name']);
      expect(await failing(Object.assign(new Counted(), { name: 'far too long', count: 0 }))).toEqual(['count', 'name']);
      expect(await failing(Object.assign(new Counted(), { name: 'ok', count: 2 }))).toEqual([]);
    }
  });

  it('applies a rule recorded after the class was validated, to it and its subclasses', async () => {
    expect(await failing(Object.assign(new Counted(), { name: 'ok', count: 2 }))).toEqual([]);
    class Tagged extends Named {
      tag = '';
    }
    expect(await failing(Object.assign(new Tagged(), { name: 'ok', tag: 'far too long' }))).toEqual([]);
    Length(1, 3)(Named.prototype, 'tag' as never);
    expect(await failing(Object.assign(new Tagged(), { name: 'ok', tag: 'far too long' }))).toEqual(['tag']);
    expect(await failing(Object.assign(new Counted(), { name: 'ok', count: 2, tag: 'far too long' }))).toEqual(['tag']);
  });
});
