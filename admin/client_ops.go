package admin

import (
	"context"
	"net/http"
)

// Get is a GET of any path of the admin port (the operator pages of
// package ops, e.g. /api/topology), decoding the JSON answer into out,
// with the API's errors (APIError) and redirects.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// Post is a POST of in as JSON to any path of the admin port.
func (c *Client) Post(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPost, path, mustJSON(in), out)
}
