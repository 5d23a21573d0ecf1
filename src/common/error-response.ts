import type { Request, Response } from 'express';

/** True when the client prefers JSON to HTML (an API client rather than a browser). */
export function wantsJson(req: Request): boolean {
  return req.accepts(['html', 'json']) === 'json';
}

/**
 * Answers an error in the site's layout, or as JSON for clients that ask for JSON.
 * The status page is the same for every error so nothing internal leaks into it.
 */
export function sendError(
  req: Request,
  res: Response,
  status: number,
  message: string,
): void {
  const error = statusText(status);
  if (wantsJson(req)) {
    res.status(status).json({ statusCode: status, error, message });
    return;
  }
  res
    .status(status)
    .render(
      'error',
      { status, error, message, title: `${status} ${error}` },
      (err, html) => {
        // A broken template must not turn one error into a hung response.
        if (err) res.type('text/plain').send(`${status} ${error}: ${message}`);
        else res.send(html);
      },
    );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? (status >= 500 ? 'Server Error' : 'Error');
}
