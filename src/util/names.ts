// Container and network names: Docker's validation rules and messages, and generated names
// for containers created without --name ("adjective_surname", from berth's own word lists:
// a nautical theme, for a program called berth).
import { randomInt } from 'node:crypto';
import { ApiError, badRequest } from './errors';

export const ADJECTIVES: readonly string[] = [
  'agile', 'amber', 'ancient', 'azure', 'bold', 'brave', 'breezy', 'bright', 'brisk', 'calm',
  'candid', 'clever', 'coastal', 'cosmic', 'crimson', 'curious', 'daring', 'deft', 'eager',
  'earnest', 'fearless', 'festive', 'fluent', 'gentle', 'gleaming', 'golden', 'hardy', 'hearty',
  'humble', 'jolly', 'keen', 'kind', 'lively', 'loyal', 'lucid', 'mellow', 'merry', 'mighty',
  'misty', 'nimble', 'noble', 'patient', 'placid', 'plucky', 'polished', 'proud', 'quick',
  'quiet', 'rapid', 'rustic', 'salty', 'serene', 'silent', 'silver', 'sleek', 'snug', 'spirited',
  'steady', 'stellar', 'stormy', 'sturdy', 'sunny', 'swift', 'tidal', 'tranquil', 'trusty',
  'vivid', 'wandering', 'windy', 'witty', 'zealous',
];

// Navigators, explorers, oceanographers and lighthouse builders.
export const SURNAMES: readonly string[] = [
  'amundsen', 'baffin', 'ballard', 'barents', 'battuta', 'bellingshausen', 'bering', 'bligh',
  'bougainville', 'cabot', 'cartier', 'champlain', 'chichester', 'cook', 'cousteau', 'dampier',
  'dias', 'drake', 'earle', 'flinders', 'franklin', 'fresnel', 'frobisher', 'gama', 'henson',
  'heyerdahl', 'hudson', 'humboldt', 'kruzenshtern', 'laperouse', 'lazarev', 'magellan',
  'mawson', 'moitessier', 'nansen', 'orellana', 'parry', 'peary', 'piccard', 'polo', 'quiros',
  'ross', 'shackleton', 'slocum', 'smeaton', 'stevenson', 'tabarly', 'tasman', 'torres',
  'vancouver', 'vespucci', 'wilkes', 'zheng',
];

/** "adjective_surname", chosen at random. The caller retries when the name is taken. */
export function randomName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
}

// Docker's rule: a letter or digit, then at least one of letters, digits, "_", "." or "-";
// an optional leading "/" (the API's spelling of names) is allowed.
const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Throws Docker's 400 for an invalid container name; returns the name without a leading "/". */
export function validateContainerName(name: string): string {
  if (!CONTAINER_NAME.test(name))
    throw badRequest(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.replace(/^\//, '');
}

/** Networks the daemon makes itself, whose names `network create` refuses. */
const PREDEFINED_NETWORKS: readonly string[] = ['bridge', 'host', 'none', 'default'];

/**
 * Docker accepts almost any network name (spaces, slashes, capitals); it refuses only the empty
 * name and the predefined ones, with these messages (the trailing space is Docker's).
 */
export function validateNetworkName(name: string): void {
  if (name === '') throw badRequest('invalid name: ');
  if (PREDEFINED_NETWORKS.includes(name))
    throw new ApiError(403, `operation is not permitted on predefined ${name} network`);
}
