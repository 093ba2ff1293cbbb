/**
 * Messages as a real network hands them over: a fresh copy per delivery, so no two peers share
 * an entry object, and one line of text per message for traces.
 *
 * @module
 */
import type { Message } from "../raft/messages.ts";

/** A deep copy of `message`, as if it had been encoded and decoded. */
export function copyMessage(message: Message): Message {
  switch (message.type) {
    case "AppendEntries":
      return { ...message, entries: message.entries.map((entry) => ({ ...entry })) };
    case "InstallSnapshot":
      return { ...message, data: message.data.slice() };
    default:
      return { ...message };
  }
}

/** `message` in one short line: type, sender, receiver, term and the fields that matter. */
export function describeMessage(message: Message): string {
  const head = `${message.type} ${message.from}->${message.to} term ${message.term}`;
  switch (message.type) {
    case "PreVote":
    case "RequestVote":
      return `${head} last ${message.lastLogIndex}/${message.lastLogTerm}`;
    case "PreVoteReply":
    case "RequestVoteReply":
      return `${head} ${message.voteGranted ? "granted" : "refused"}`;
    case "AppendEntries": {
      const count = message.entries.length;
      const entries = count === 0
        ? "no entries"
        : `entries ${message.entries[0].index}..${message.entries[count - 1].index}`;
      const round = message.readRound === undefined ? "" : ` round ${message.readRound}`;
      return `${head} prev ${message.prevLogIndex}/${message.prevLogTerm} ${entries} commit ${message.leaderCommit}${round}`;
    }
    case "AppendEntriesReply":
      return message.success
        ? `${head} match ${message.matchIndex}`
        : `${head} refused, conflict ${message.conflictIndex}/${message.conflictTerm}`;
    case "InstallSnapshot":
      return `${head} up to ${message.lastIncludedIndex}/${message.lastIncludedTerm}`;
    case "InstallSnapshotReply":
      return `${head} match ${message.matchIndex}`;
    case "TimeoutNow":
      return head;
    case "TimeoutNowReply":
      return `${head} ${message.accepted ? "accepted" : "refused"}`;
    case "ReadIndex":
      return `${head} read ${message.readId}${message.lease === true ? " lease" : ""}`;
    case "ReadIndexReply":
      return `${head} read ${message.readId} index ${message.index}`;
  }
}
