import { DockerfileParser, ModifiableInstruction, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

/** One stage of a Dockerfile: its FROM (image with ARG defaults expanded, `AS` name) and instructions. */
export type Stage = { image: string; name: string | undefined; instructions: Instruction[] };

/** The stages of a Dockerfile, in order. ARGs before the first FROM belong to no stage. */
export const stagesOf = (text: string): Stage[] => {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const [image = '', as, name] = instruction.getExpandedArguments().map((a) => a.getValue());
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
};

/** The instructions of a stage with this keyword. */
export const instructionsOf = (stage: Stage, keyword: string): Instruction[] =>
  stage.instructions.filter((i) => i.getKeyword() === keyword);

/** The `--name=value` flags of an instruction (`COPY --from`, `HEALTHCHECK --interval`), by name. */
export const flagsOf = (instruction: Instruction): Record<string, string | null> =>
  instruction instanceof ModifiableInstruction
    ? Object.fromEntries(instruction.getFlags().map((f) => [f.getName(), f.getValue()]))
    : {};

/** An image reference with an explicit tag other than `latest`, or a digest. */
const isPinned = (image: string): boolean => {
  if (image.includes('@sha256:')) return true;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  return colon > 0 && lastSegment.slice(colon + 1) !== 'latest';
};

/**
 * The rules authgate's Dockerfile keeps, as the list of those a Dockerfile breaks (empty when it
 * keeps them all): it parses and lints clean (dockerfile-utils); it is multi-stage and every
 * stage is named; every base image is pinned (a tag other than `latest`, or a digest); nothing
 * is ADDed from a URL or git; dependencies are installed with `npm ci` (the lock file), never
 * `npm install`; the final stage runs as a numeric non-root user, declares a HEALTHCHECK and
 * EXPOSEs 8200.
 */
export const dockerfileProblems = (text: string): string[] => {
  const problems: string[] = [];
  for (const d of validate(text)) problems.push(`line ${d.range.start.line + 1}: ${d.message}`);
  const stages = stagesOf(text);
  if (stages.length < 2) problems.push('not multi-stage');
  for (const [n, stage] of stages.entries()) {
    if (stage.name === undefined) problems.push(`stage ${n} has no name`);
    if (!isPinned(stage.image)) problems.push(`stage ${stage.name ?? n}: image ${stage.image} is not pinned`);
    for (const add of instructionsOf(stage, 'ADD')) {
      if (/(^|\s)(https?:\/\/|git@)/.test(add.getArgumentsContent() ?? '')) {
        problems.push(`stage ${stage.name ?? n}: ADD from a URL`);
      }
    }
    for (const run of instructionsOf(stage, 'RUN')) {
      if (/\bnpm\s+(install|i|add)\b/.test(run.getArgumentsContent() ?? '')) {
        problems.push(`stage ${stage.name ?? n}: npm install instead of npm ci`);
      }
    }
  }
  const final = stages.at(-1);
  if (final === undefined) return [...problems, 'no FROM'];
  const user = instructionsOf(final, 'USER').at(-1)?.getArgumentsContent();
  const uid = user?.split(':')[0];
  if (uid === undefined || !/^\d+$/.test(uid) || uid === '0') {
    problems.push(`final stage runs as ${user ?? 'root'}, not a numeric non-root user`);
  }
  if (instructionsOf(final, 'HEALTHCHECK').length === 0) problems.push('final stage has no HEALTHCHECK');
  const exposed = instructionsOf(final, 'EXPOSE').flatMap((e) => e.getArguments().map((a) => a.getValue()));
  if (!exposed.some((p) => p === '8200' || p === '8200/tcp'))
    problems.push('final stage does not EXPOSE 8200');
  return problems;
};
