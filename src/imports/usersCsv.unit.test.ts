import { DomainError } from '../domain/shared/decider';
import { parseCsvRecords, parseUsersCsv } from './usersCsv';

describe('the users CSV file', () => {
  it('reads RFC 4180 quoting: commas, doubled quotes and line breaks inside quotes', () => {
    expect(parseCsvRecords('a,"b, c","say ""hi"""\r\n"two\nlines",x,\n').map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b, c', 'say "hi"']],
      [2, ['two\nlines', 'x', '']],
    ]);
  });

  it('numbers rows by the line they start on, skipping blank lines, and reads headers in any spelling', () => {
    const rows = parseUsersCsv('\uFEFFE-mail,Name,ROLE,Manager Name,managerEmail\n\nada@x.example,Ada,mentor,Max,max@x.example\n"b@x.example","B\nB",MENTEE,,\nc@x.example,C,MENTEE,,\n'.replace('E-mail', 'Email'));
    expect(rows.map((r) => [r.row, r.email, r.name, r.role, r.managerName, r.managerEmail])).toEqual([
      [3, 'ada@x.example', 'Ada', 'mentor', 'Max', 'max@x.example'],
      [4, 'b@x.example', 'B\nB', 'MENTEE', '', ''],
      [6, 'c@x.example', 'C', 'MENTEE', '', ''],
    ]);
  });

  it.each([
    ['', 'The file is empty'],
    ['email,name\n', 'must name the column role'],
    ['email,name,role,compnay\n', 'Unknown column "compnay"'],
    ['email,name,role,email\n', 'appears twice'],
    ['email,name,role\n"open,quote\n', 'never closed'],
    ['email,name,role\na\u0000b,c,d\n', 'NUL characters'],
  ])('refuses a file it cannot read (%j) with VALIDATION_FAILED', (text, message) => {
    let error: unknown;
    try {
      parseUsersCsv(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('VALIDATION_FAILED');
    expect((error as DomainError).message).toContain(message);
  });
});
