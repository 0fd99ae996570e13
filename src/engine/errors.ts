// Errors that carry the HTTP status the Docker Engine API uses for them, so every layer can
// throw one and the API server turns it into `{ "message": ... }` with the right code.
export class ApiError extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
  }
}

export const badRequest = (msg: string) => new ApiError(400, msg);
export const notFound = (msg: string) => new ApiError(404, msg);
export const conflict = (msg: string) => new ApiError(409, msg);
export const forbidden = (msg: string) => new ApiError(403, msg);
export const notModified = (msg = '') => new ApiError(304, msg);
export const serverError = (msg: string) => new ApiError(500, msg);

export const noSuchContainer = (ref: string) => notFound(`No such container: ${ref}`);
export const noSuchNetwork = (ref: string) => notFound(`network ${ref} not found`);
export const noSuchImage = (ref: string) => notFound(`No such image: ${ref}`);
