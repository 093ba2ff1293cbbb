/**
 * `dsys corpus`: sample input for MapReduce, so the README's examples run on a fresh clone: eight
 * generated "books" named as the lab's, text whose most frequent words are English's.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { InvalidArgumentError } from "commander";
import { ENGLISH_HEAD_WORDS, formatByteSize, writeCorpusOfSize } from "../mr/mod.ts";
import { examples, integerOption, parseSize } from "./arguments.ts";

/** The corpus's size unless `--size` says otherwise: a job of a few seconds. */
const DEFAULT_CORPUS_BYTES = 20 * 1024 * 1024;
/** The most `--size` may ask for, a bound on the disk a typo can fill. */
const CORPUS_BYTES_MAX = 64 * 1024 * 1024 * 1024;

/** The `corpus` subcommand. */
export function corpusCommand() {
  return new Command("corpus")
    .description("Write eight generated books (pg-*.txt) into a folder, as input for MapReduce.")
    .argument("<folder>", "where the books go; made if missing")
    .option(
      "--size <bytes>",
      "their total size (20MiB, 1GB or bytes)",
      (text) => {
        const bytes = parseSize(text);
        if (bytes > CORPUS_BYTES_MAX) {
          throw new InvalidArgumentError(
            `It is over the most, ${formatByteSize(CORPUS_BYTES_MAX)}.`,
          );
        }
        return bytes;
      },
      DEFAULT_CORPUS_BYTES,
    )
    .option(
      "--seed <seed>",
      "the generator's seed: the same seed writes the same books",
      integerOption(0),
      1,
    )
    .addHelpText(
      "after",
      examples("dsys corpus books && dsys sequential wc books/*.txt", "dsys corpus big --size 1GB"),
    )
    .action(async (folder, options) => {
      await Deno.mkdir(folder, { recursive: true });
      const names = await writeCorpusOfSize(folder, {
        seed: options.seed,
        totalBytes: options.size,
        headWords: ENGLISH_HEAD_WORDS,
      });
      console.log(
        `wrote ${names.length} books of ${formatByteSize(options.size)} in all to ${folder}/`,
      );
    });
}
