/**
 * A generated stand-in for the lab's Project Gutenberg books, so tests and benchmarks need no
 * downloaded data: text with a skewed word distribution (a few words very common, most rare),
 * capitals, apostrophes, digits, punctuation and non-ASCII letters, from a seeded generator.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { SeededRandom } from "../util/random.ts";
import { joinPath } from "./job_files.ts";

/** The lab's input file names; two of them are the ones `early_exit` reduces slowly. */
export const CORPUS_FILE_NAMES: readonly string[] = [
  "pg-being_ernest.txt",
  "pg-dorian_gray.txt",
  "pg-frankenstein.txt",
  "pg-grimm.txt",
  "pg-huckleberry_finn.txt",
  "pg-metamorphosis.txt",
  "pg-sherlock_holmes.txt",
  "pg-tom_sawyer.txt",
];

/** Most words one file may have; a bound on memory. */
export const MAX_WORDS_PER_FILE = 10_000_000;

const SYLLABLES = [
  "ka",
  "to",
  "ri",
  "ne",
  "sa",
  "mo",
  "lu",
  "the",
  "an",
  "er",
  "in",
  "qu",
  "ph",
  "str",
];
const FOREIGN_WORDS = [
  "café",
  "naïve",
  "Straße",
  "façade",
  "слово",
  "мир",
  "日本語",
  "ελπίδα",
  "ñandú",
  "Ærø",
];
/** Mostly spaces, as in prose; the rest exercise every kind of word boundary. */
const SEPARATORS = [
  ...Array<string>(24).fill(" "),
  ...[", ", ", ", ". ", ". ", "\n", "\n", "; ", " -- ", "'s ", " 1887 ", "! ", "? ", "\t"],
];
const VOCABULARY_SIZE = 4_000;

/**
 * English's most frequent words, most frequent first: a corpus for people to look at (the demo,
 * `dsys corpus`) puts them at the head of its vocabulary, so its top words read like a book's.
 */
export const ENGLISH_HEAD_WORDS: readonly string[] = [
  ..."the of and to a in that it was he i his you for had is with as she her".split(" "),
  ..."not at on but be my have by which this all from they so me were him".split(" "),
];

/** Options of {@linkcode writeCorpus}. */
export interface CorpusOptions {
  /** Seed of the text; the same seed writes the same files. */
  readonly seed: number;
  /** Words in each file. */
  readonly wordsPerFile: number;
  /** How many of {@linkcode CORPUS_FILE_NAMES} to write; default all 8. */
  readonly fileCount?: number;
  /** Stop a file once it holds this many bytes, even before `wordsPerFile` words. */
  readonly bytesPerFile?: number;
  /** Words that take the most frequent places of the vocabulary, in order; default none. */
  readonly headWords?: readonly string[];
}

/** Writes the corpus into `folder` and returns the files' names (not paths), in order. */
export async function writeCorpus(folder: string, options: CorpusOptions): Promise<string[]> {
  const fileCount = options.fileCount ?? CORPUS_FILE_NAMES.length;
  assert(
    fileCount >= 1 && fileCount <= CORPUS_FILE_NAMES.length,
    `Cannot write ${fileCount} corpus files: there are names for 1 to ${CORPUS_FILE_NAMES.length}`,
  );
  assert(
    options.wordsPerFile >= 0 && options.wordsPerFile <= MAX_WORDS_PER_FILE,
    `Cannot write ${options.wordsPerFile} words per file: the limit is ${MAX_WORDS_PER_FILE}`,
  );
  const random = new SeededRandom(options.seed);
  const headWords = options.headWords ?? [];
  const vocabulary = makeVocabulary(random, headWords);
  // Word count splits "cat's" into "cat" and "s", which would outnumber every head word.
  const separators = headWords.length === 0
    ? SEPARATORS
    : SEPARATORS.filter((separator) => separator !== "'s ");
  const bytesPerFile = options.bytesPerFile ?? Infinity;
  const encoder = new TextEncoder();
  // Bounded by the vocabulary and its capitalized forms.
  const byteLengths = new Map<string, number>();
  const byteLength = (word: string) => {
    let length = byteLengths.get(word);
    if (length === undefined) byteLengths.set(word, length = encoder.encode(word).length);
    return length;
  };
  const names = CORPUS_FILE_NAMES.slice(0, fileCount);
  for (const name of names) {
    const parts: string[] = [];
    let bytes = 0;
    for (let index = 0; index < options.wordsPerFile && bytes < bytesPerFile; index++) {
      // Squaring a uniform draw skews toward the front of the vocabulary, as real text does.
      const draw = random.next();
      let word = vocabulary[Math.floor(draw * draw * vocabulary.length)];
      if (random.int(12) === 0) word = word[0].toUpperCase() + word.slice(1);
      const separator = separators[random.int(separators.length)];
      parts.push(word, separator);
      bytes += separator.length + byteLength(word);
    }
    await Deno.writeTextFile(joinPath(folder, name), parts.join(""));
  }
  return names;
}

/**
 * Writes a corpus of about `totalBytes` bytes (a word more per file at most) in `fileCount`
 * files of equal size, and returns the files' names.
 */
export function writeCorpusOfSize(
  folder: string,
  options: {
    readonly seed: number;
    readonly totalBytes: number;
    readonly fileCount?: number;
    readonly headWords?: readonly string[];
  },
): Promise<string[]> {
  const fileCount = options.fileCount ?? CORPUS_FILE_NAMES.length;
  return writeCorpus(folder, {
    seed: options.seed,
    headWords: options.headWords,
    fileCount,
    wordsPerFile: MAX_WORDS_PER_FILE,
    bytesPerFile: Math.ceil(options.totalBytes / fileCount),
  });
}

function makeVocabulary(random: SeededRandom, headWords: readonly string[]): string[] {
  const words = new Set<string>(FOREIGN_WORDS);
  for (let attempt = 0; attempt < VOCABULARY_SIZE * 10 && words.size < VOCABULARY_SIZE; attempt++) {
    let word = "";
    const syllables = 1 + random.int(4);
    for (let index = 0; index < syllables; index++) word += SYLLABLES[random.int(SYLLABLES.length)];
    words.add(word);
  }
  // Shuffled so that the common words (the front, after skewing) are a mix of every kind.
  const vocabulary = [...words];
  for (let index = vocabulary.length - 1; index > 0; index--) {
    const other = random.int(index + 1);
    [vocabulary[index], vocabulary[other]] = [vocabulary[other], vocabulary[index]];
  }
  // After the shuffle, so that a corpus without head words stays the same for the same seed.
  const head = new Set(headWords);
  return [...head, ...vocabulary.filter((word) => !head.has(word))];
}
